// rayon-demo/src/tsp/{graph,solver,step,tour,weight}.rs, rayon's code,
// copied from the rayon-rs/rayon repository at commit
// c4dac9f82ee03f61e855075b668229a9e4d759ad: the solver of rayon-demo's
// Travelling Salesman demo (its `mod.rs` with docopt and `main`, `parser.rs`
// with the TSPLIB parser on `regex`, and `bench.rs` are left out; the graphs
// are built by tsp_input.rs). Each file is an inline module of the same
// name, so their `use super::…` lines resolve unchanged. Changed, and
// nothing else:
// - `use fixedbitset::FixedBitSet` -> `use super::fixedbitset::FixedBitSet`
//   (a stand-in, fixedbitset.rs, included by the includer as `fixedbitset`);
// - `rayon::scope` -> `super::backend::scope`;
// - in step.rs, `use rayon::Scope` -> `use super::backend::ScopeRef` and the
//   two `scope: &Scope<'s>` parameters -> `scope: ScopeRef<'_, 's>`:
//   rayon's `Scope<'scope>` has one lifetime and its `spawn` takes any
//   `&self`, corepool's `Scope<'scope, 'env>` two and `spawn` takes
//   `&'scope self`, so no one signature names both; each includer's
//   `backend` module says what `ScopeRef` is for its library.
// Included (`include!`, not a module of its own) by
// tests/par_rayon_demos_port.rs and bench/examples/demos_ratio.rs.

mod graph {
    use super::fixedbitset::FixedBitSet;
    use std::iter;

    use super::weight::Weight;

    pub struct Graph {
        num_nodes: usize,

        // a 2-d matrix indexed by (source, target); if `Weight::max()`
        // is stored in a particular entry, that means that there is no
        // edge. Otherwise, the weight is found.
        weights: Vec<Weight>,
    }

    impl Graph {
        pub fn new(num_nodes: usize) -> Graph {
            Graph {
                num_nodes,
                weights: iter::repeat_n(Weight::max(), num_nodes * num_nodes).collect(),
            }
        }

        pub fn num_nodes(&self) -> usize {
            self.num_nodes
        }

        pub fn all_nodes(&self) -> impl Iterator<Item = Node> + use<> {
            (0..self.num_nodes).map(Node::new)
        }

        pub fn node_set(&self) -> NodeSet {
            NodeSet {
                bits: FixedBitSet::with_capacity(self.num_nodes),
            }
        }

        fn edge_index(&self, source: Node, target: Node) -> usize {
            (source.index * self.num_nodes) + target.index
        }

        pub fn set_weight(&mut self, source: Node, target: Node, w: Weight) {
            assert!(!w.is_max());
            let index = self.edge_index(source, target);
            self.weights[index] = w;
        }

        pub fn edge_weight(&self, source: Node, target: Node) -> Option<Weight> {
            let w = self.weights[self.edge_index(source, target)];
            if w.is_max() { None } else { Some(w) }
        }

        pub fn edges(&self, source: Node) -> impl Iterator<Item = Edge> + '_ {
            self.all_nodes().filter_map(move |target| {
                self.edge_weight(source, target).map(|weight| Edge {
                    source,
                    target,
                    weight,
                })
            })
        }
    }

    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
    pub struct Node {
        index: usize,
    }

    impl Node {
        pub fn new(index: usize) -> Node {
            Node { index }
        }

        pub fn index(self) -> usize {
            self.index
        }
    }

    #[derive(Debug, PartialEq, Eq)]
    pub struct Edge {
        pub source: Node,
        pub target: Node,
        pub weight: Weight,
    }

    #[derive(Clone, Debug)]
    pub struct NodeSet {
        bits: FixedBitSet,
    }

    impl NodeSet {
        pub fn contains(&self, node: Node) -> bool {
            self.bits.contains(node.index)
        }

        pub fn with(&self, node: Node) -> NodeSet {
            let mut s = self.clone();
            s.insert(node);
            s
        }

        pub fn insert(&mut self, node: Node) {
            self.bits.insert(node.index);
        }

        pub fn remove(&mut self, node: Node) {
            self.bits.remove(node.index);
        }
    }
}

mod solver {
    use std::collections::BinaryHeap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use super::graph::{Graph, Node};
    use super::step;
    use super::tour::TourPrefix;
    use super::weight::Weight;

    /// Shared context
    pub struct SolverCx<'s> {
        graph: &'s Graph,
        seq_threshold: usize,
        priority_queue: Mutex<BinaryHeap<Arc<TourPrefix>>>,
        tour_counter: AtomicUsize,
        min_tour_weight: AtomicUsize,
        min_tour: Mutex<Option<Vec<Node>>>,
    }

    /// Just an opaque integer assigned to each tour element as we go;
    /// lets us give them an ordering independent from the lower bound.
    #[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
    pub struct TourId {
        id: usize,
    }

    impl<'s> SolverCx<'s> {
        pub fn new(graph: &'s Graph, seq_threshold: usize) -> Self {
            SolverCx {
                graph,
                seq_threshold,
                priority_queue: Mutex::new(BinaryHeap::new()),
                tour_counter: AtomicUsize::new(0),
                min_tour_weight: AtomicUsize::new(usize::MAX),
                min_tour: Mutex::new(None),
            }
        }

        pub fn search_from(&mut self, node: Node) {
            // Enqueue the initial prefix:
            let id = self.tour_id();
            let mut visited = self.graph.node_set();
            visited.insert(node);
            self.priority_queue
                .get_mut()
                .unwrap()
                .push(Arc::new(TourPrefix {
                    id,
                    node,
                    len: 1,
                    prefix_weight: Weight::zero(),
                    priority: Weight::max().to_priority(),
                    visited,
                    previous: None,
                }));

            // Start the iteration:
            super::backend::scope(|s| step::step(s, self));
        }

        pub fn seq_threshold(&self) -> usize {
            self.seq_threshold
        }

        pub fn tour_id(&self) -> TourId {
            let counter = self.tour_counter.fetch_add(1, Ordering::Relaxed);
            TourId { id: counter }
        }

        pub fn graph(&self) -> &'s Graph {
            self.graph
        }

        pub fn enqueue(&self, tour_element: Arc<TourPrefix>) {
            let mut priority_queue = self.priority_queue.lock().unwrap();
            priority_queue.push(tour_element);
        }

        pub fn dequeue(&self) -> Option<Arc<TourPrefix>> {
            let mut priority_queue = self.priority_queue.lock().unwrap();
            priority_queue.pop()
        }

        pub fn min_tour_weight(&self) -> Weight {
            // Relaxed read is ok because the only time we *care* about
            // this being precise, we are holding `min_tour` lock; and
            // that is also the only time we write to it. This is subtle.
            Weight::new(self.min_tour_weight.load(Ordering::Relaxed))
        }

        pub fn add_complete_tour(&self, tour: &[Node], weight: Weight) {
            if weight < self.min_tour_weight() {
                let mut min_tour = self.min_tour.lock().unwrap();
                if min_tour.is_none() || weight < self.min_tour_weight() {
                    // this is a new minimum!
                    *min_tour = Some(tour.to_vec());
                    self.min_tour_weight
                        .store(weight.to_usize(), Ordering::Relaxed);
                }
            }
        }

        pub fn into_result(self) -> (Option<Vec<Node>>, Weight) {
            let weight = self.min_tour_weight();
            (self.min_tour.into_inner().unwrap(), weight)
        }
    }
}

mod step {
    use super::backend::ScopeRef;
    use std::sync::Arc;

    use super::graph::{Graph, Node, NodeSet};
    use super::solver::SolverCx;
    use super::tour::TourPrefix;
    use super::weight::Weight;

    pub fn step<'s>(scope: ScopeRef<'_, 's>, solver: &'s SolverCx<'s>) {
        let element = solver.dequeue().unwrap();

        let remaining = solver.graph().num_nodes() - element.len;
        if remaining <= solver.seq_threshold() {
            solve_tour_seq(solver, element);
        } else {
            split_tour(scope, solver, element);
        }
    }

    fn split_tour<'s>(scope: ScopeRef<'_, 's>, solver: &'s SolverCx<'s>, element: Arc<TourPrefix>) {
        let graph = solver.graph();
        let last_node = element.node;
        for next_edge in graph.edges(last_node) {
            // for each place we could go next...
            let next_node = next_edge.target;
            if !element.visited(next_node) {
                // ...check we haven't already been there...
                let weight = next_edge.weight;
                if (element.prefix_weight + weight) < solver.min_tour_weight() {
                    // ...and that we haven't already found a cheaper route
                    let visited = element.visited.with(next_node);

                    let prefix_weight = element.prefix_weight + weight;

                    let next_lower_bound = compute_lower_bound(
                        solver.graph(),
                        &element.visited,
                        &visited,
                        prefix_weight,
                    );

                    let next_tour = Arc::new(TourPrefix {
                        id: solver.tour_id(),
                        priority: next_lower_bound.to_priority(),
                        node: next_node,
                        len: element.len + 1,
                        prefix_weight,
                        visited,
                        previous: Some(element.clone()),
                    });
                    solver.enqueue(next_tour);
                    scope.spawn(move |s| step(s, solver));
                }
            }
        }
    }

    /// Compute a lower bound for completing the tour, given that we have
    /// a partial tour which visits the nodes in `visited` at the cost of
    /// `weight`. There are a number of ways you could to this; this one
    /// is intended to be a general method. We look at each node that is
    /// not yet visited and find the cheapest incoming edge and sum those
    /// up.  The idea is that we must *somehow* get to each of those nodes.
    fn compute_lower_bound(
        graph: &Graph,
        prev_visited: &NodeSet,
        visited: &NodeSet,
        weight: Weight,
    ) -> Weight {
        // Our path looks like this
        //
        //     START ~> n0 ... nJ ~> nK ~> ... nZ -> START
        //     ------------------    --    ---------------
        //     prev_visited       next_node     the future
        //
        // We want to find all edges that are targeting "the future"
        // from a node that is *not* in `prev_visited`.

        let mut min_weights: Vec<_> = graph
            .all_nodes()
            .map(|i| {
                if visited.contains(i) {
                    Weight::zero()
                } else {
                    Weight::max()
                }
            })
            .collect();

        for i in graph.all_nodes().filter(|&i| !prev_visited.contains(i)) {
            for j in graph.all_nodes().filter(|&j| !visited.contains(j)) {
                if let Some(w) = graph.edge_weight(i, j) {
                    // track the cheapest way to reach node `j` that doesn't
                    // start from one of the nodes we've been to already (but
                    // maybe starts from the most recent node):
                    min_weights[j.index()] = Ord::min(w, min_weights[j.index()]);
                }
            }
        }

        min_weights.iter().fold(Weight::zero(), |w1, &w2| w1 + w2) + weight
    }

    fn solve_tour_seq(solver: &SolverCx<'_>, element: Arc<TourPrefix>) {
        // Sequentially enumerate all possible tours starting from this point.
        let graph = solver.graph();
        let mut path = Vec::with_capacity(graph.num_nodes() + 1);
        let mut visited = element.visited.clone();

        // unwind the current prefix into `path`; the path is stored in
        // reverse order, so we have to reverse at the end. i.e., if the
        // path were N0, N1, N2, we would have:
        //
        //     N2 -> N1 -> N0
        let mut p = &element;
        loop {
            path.push(p.node);
            if let Some(ref n) = p.previous {
                p = n;
            } else {
                break;
            }
        }
        path.reverse();

        if path.len() == graph.num_nodes() {
            complete_tour(solver, &mut path, element.prefix_weight);
        } else {
            enumerate_sequentially(solver, &mut path, &mut visited, element.prefix_weight);
        }
    }

    fn enumerate_sequentially(
        solver: &SolverCx<'_>,
        path: &mut Vec<Node>,
        visited: &mut NodeSet,
        mut weight: Weight,
    ) {
        // Try to figure out what node to visit next.
        let graph = solver.graph();
        let prev = *path.last().unwrap();
        for i in graph.all_nodes() {
            // Don't go back places we've already been.
            if visited.contains(i) {
                continue;
            }

            // Not connected to previous node.
            let edge_weight = match graph.edge_weight(prev, i) {
                Some(w) => w,
                None => continue,
            };

            // Check if this is better than cheapest found by anybody else so far.
            if weight + edge_weight > solver.min_tour_weight() {
                continue;
            }

            // Commit to `i` as the next node for us to visit.
            weight += edge_weight;
            path.push(i);
            visited.insert(i);

            if path.len() < graph.num_nodes() {
                // Not yet completed the whole graph, keep looking.
                enumerate_sequentially(solver, path, visited, weight);
            } else {
                // Completed the whole graph; we have to get back to the start node now (if we can).
                complete_tour(solver, path, weight);
            }

            // Uncommit to `i`.
            weight -= edge_weight;
            path.pop();
            visited.remove(i);
        }
    }

    fn complete_tour(solver: &SolverCx<'_>, path: &mut Vec<Node>, weight: Weight) {
        let graph = solver.graph();
        debug_assert!(path.len() == graph.num_nodes());
        let home = path[0];
        let last = *path.last().unwrap();
        if let Some(home_weight) = graph.edge_weight(last, home) {
            path.push(home);
            solver.add_complete_tour(path, weight + home_weight);
            path.pop();
        }
    }
}

mod tour {
    use std::cmp::Ordering;
    use std::sync::Arc;

    use super::graph::{Node, NodeSet};
    use super::solver::TourId;
    use super::weight::{Priority, Weight};

    #[derive(Clone, Debug)]
    pub struct TourPrefix {
        /// priority to visit, derived from a lower bound on how much weight we
        /// have remaining to complete the tour
        pub priority: Priority,

        pub id: TourId,

        /// the next node to traverse
        pub node: Node,

        /// total length of our tour
        pub len: usize,

        /// total weight of our tour so far
        pub prefix_weight: Weight,

        /// bit set with elements left to visit
        pub visited: NodeSet,

        /// we extend this; this is ordered last so that the `Ord` impl
        /// won't look at it until the other fields
        pub previous: Option<Arc<TourPrefix>>,
    }

    impl TourPrefix {
        /// Returns a tuple of stuff to use when comparing for ord/eq
        fn to_cmp_elements(&self) -> (Priority, TourId) {
            (self.priority, self.id)
        }

        pub fn visited(&self, node: Node) -> bool {
            self.visited.contains(node)
        }
    }

    impl PartialEq for TourPrefix {
        fn eq(&self, other: &Self) -> bool {
            self.id == other.id
        }
    }

    impl Eq for TourPrefix {}

    impl PartialOrd for TourPrefix {
        fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
            Some(self.cmp(other))
        }
    }

    impl Ord for TourPrefix {
        fn cmp(&self, other: &Self) -> Ordering {
            self.to_cmp_elements().cmp(&other.to_cmp_elements())
        }
    }
}

mod weight {
    use std::ops::{Add, AddAssign, Sub, SubAssign};

    #[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
    pub struct Weight {
        weight: usize,
    }

    #[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
    pub struct Priority {
        priority: usize,
    }

    impl Weight {
        pub fn new(w: usize) -> Weight {
            Weight { weight: w }
        }

        pub fn zero() -> Weight {
            Weight::new(0)
        }

        pub fn max() -> Weight {
            Weight { weight: usize::MAX }
        }

        pub fn to_usize(self) -> usize {
            self.weight
        }

        pub fn is_max(self) -> bool {
            self.weight == usize::MAX
        }

        /// Returns a priority for tours with this weight; lighter tours
        /// have higher priority.
        pub fn to_priority(self) -> Priority {
            Priority {
                priority: usize::MAX - self.weight,
            }
        }
    }

    impl Add for Weight {
        type Output = Weight;

        fn add(self, rhs: Weight) -> Weight {
            Weight::new(self.weight + rhs.weight)
        }
    }

    impl AddAssign for Weight {
        fn add_assign(&mut self, rhs: Weight) {
            *self = *self + rhs;
        }
    }

    impl Sub for Weight {
        type Output = Weight;

        fn sub(self, rhs: Weight) -> Weight {
            Weight::new(self.weight - rhs.weight)
        }
    }

    impl SubAssign for Weight {
        fn sub_assign(&mut self, rhs: Weight) {
            *self = *self - rhs;
        }
    }
}

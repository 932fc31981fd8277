// The tsp demo's inputs (not rayon's code): rayon-demo/data/tsp/dj15.tsp's
// coordinates (TSPLIB; dj10.tsp is its first 10 nodes), and the graph
// rayon-demo's TSPLIB parser (parser.rs, left out: it needs `regex`) builds
// from coordinates: every ordered pair of distinct nodes joined by the
// Euclidean distance rounded to the nearest whole number (EUC_2D). Included
// (`include!`) next to tsp.rs, in tests/par_rayon_demos_port.rs and
// bench/examples/demos_ratio.rs.

/// dj15.tsp's `NODE_COORD_SECTION`, node 1 first; dj10.tsp is `&DJ15[..10]`.
pub const DJ15: &[(f64, f64)] = &[
    (11003.611100, 42102.500000),
    (11108.611100, 42373.888900),
    (11133.333300, 42885.833300),
    (11155.833300, 42712.500000),
    (11183.333300, 42933.333300),
    (11297.500000, 42853.333300),
    (11310.277800, 42929.444400),
    (11416.666700, 42983.333300),
    (11423.888900, 43000.277800),
    (11438.333300, 42057.222200),
    (11461.111100, 43252.777800),
    (11485.555600, 43187.222200),
    (11503.055600, 42855.277800),
    (11511.388900, 42106.388900),
    (11522.222200, 42841.944400),
];

/// The complete graph on `coords`, weighted as parser.rs weights EUC_2D.
pub fn euc_2d_graph(coords: &[(f64, f64)]) -> graph::Graph {
    let mut graph = graph::Graph::new(coords.len());
    for i in graph.all_nodes() {
        let coord_i = coords[i.index()];
        for j in graph.all_nodes().filter(|&j| j != i) {
            let coord_j = coords[j.index()];
            let distance = (coord_i.0 - coord_j.0).powi(2) + (coord_i.1 - coord_j.1).powi(2);
            let distance = distance.sqrt();
            let distance = distance.round();
            let weight = weight::Weight::new(distance as usize);
            graph.set_weight(i, j, weight);
        }
    }
    graph
}

// Points and vectors on `f64` (not rayon's code): stand-in for the `cgmath`
// crate with the calls the nbody demo makes, so that its `use cgmath::…` lines
// resolve unchanged. Included (`include!`) as the body of a `mod cgmath` next
// to the demo, in tests/par_rayon_demos_port.rs and
// bench/examples/demos_ratio.rs.
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Sub, SubAssign};
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Point3<S> {
    pub x: S,
    pub y: S,
    pub z: S,
}
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Vector3<S> {
    pub x: S,
    pub y: S,
    pub z: S,
}
type V = Vector3<f64>;
type P = Point3<f64>;
pub trait Zero {
    fn zero() -> Self;
}
impl Zero for V {
    fn zero() -> V {
        Vector3 {
            x: 0.0,
            y: 0.0,
            z: 0.0,
        }
    }
}
pub trait InnerSpace: Sized {
    fn magnitude2(self) -> f64;
    fn magnitude(self) -> f64 {
        self.magnitude2().sqrt()
    }
}
impl InnerSpace for V {
    fn magnitude2(self) -> f64 {
        self.x * self.x + self.y * self.y + self.z * self.z
    }
}
impl Sub for P {
    type Output = V;
    fn sub(self, o: P) -> V {
        Vector3 {
            x: self.x - o.x,
            y: self.y - o.y,
            z: self.z - o.z,
        }
    }
}
impl Add<V> for P {
    type Output = P;
    fn add(self, o: V) -> P {
        Point3 {
            x: self.x + o.x,
            y: self.y + o.y,
            z: self.z + o.z,
        }
    }
}
impl Add for V {
    type Output = V;
    fn add(self, o: V) -> V {
        Vector3 {
            x: self.x + o.x,
            y: self.y + o.y,
            z: self.z + o.z,
        }
    }
}
impl Sub for V {
    type Output = V;
    fn sub(self, o: V) -> V {
        Vector3 {
            x: self.x - o.x,
            y: self.y - o.y,
            z: self.z - o.z,
        }
    }
}
impl Mul<f64> for V {
    type Output = V;
    fn mul(self, k: f64) -> V {
        Vector3 {
            x: self.x * k,
            y: self.y * k,
            z: self.z * k,
        }
    }
}
impl Div<f64> for V {
    type Output = V;
    fn div(self, k: f64) -> V {
        Vector3 {
            x: self.x / k,
            y: self.y / k,
            z: self.z / k,
        }
    }
}
impl AddAssign for V {
    fn add_assign(&mut self, o: V) {
        *self = *self + o;
    }
}
impl SubAssign for V {
    fn sub_assign(&mut self, o: V) {
        *self = *self - o;
    }
}
impl MulAssign<f64> for V {
    fn mul_assign(&mut self, k: f64) {
        *self = *self * k;
    }
}

//! Small dense symmetric linear algebra for correlation matrices: the
//! smallest eigenvalue (cyclic Jacobi) for the positive semi-definite check,
//! and a Cholesky factor that accepts singular (semi-definite) matrices.

/// Eigenvalues of a symmetric matrix (row-major `n × n`), by cyclic Jacobi rotations.
pub fn symmetric_eigenvalues(a: &[f64], n: usize) -> Vec<f64> {
    let mut m = a.to_vec();
    for _sweep in 0..100 {
        let mut off = 0.0;
        for i in 0..n {
            for j in (i + 1)..n {
                off += m[i * n + j] * m[i * n + j];
            }
        }
        if off < 1e-30 {
            break;
        }
        for p in 0..n {
            for q in (p + 1)..n {
                let apq = m[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // rotate rows/columns p and q: m ← Jᵀ m J
                for k in 0..n {
                    let mkp = m[k * n + p];
                    let mkq = m[k * n + q];
                    m[k * n + p] = c * mkp - s * mkq;
                    m[k * n + q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let mpk = m[p * n + k];
                    let mqk = m[q * n + k];
                    m[p * n + k] = c * mpk - s * mqk;
                    m[q * n + k] = s * mpk + c * mqk;
                }
            }
        }
    }
    (0..n).map(|i| m[i * n + i]).collect()
}

/// Lower-triangular `L` (row-major) with `L Lᵀ = a` for a positive
/// semi-definite correlation matrix `a`. A pivot that is zero up to rounding
/// (a singular matrix, e.g. perfectly correlated markets) gets a zero column
/// instead of a division by zero; each row is then scaled to unit length so
/// every market's variable stays exactly standard normal.
pub fn psd_cholesky(a: &[f64], n: usize) -> Vec<f64> {
    const PIVOT_TOL: f64 = 1e-10;
    let mut l = vec![0.0; n * n];
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= l[j * n + k] * l[j * n + k];
        }
        if d <= PIVOT_TOL {
            continue; // column j stays zero
        }
        let djj = d.sqrt();
        l[j * n + j] = djj;
        for i in (j + 1)..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            l[i * n + j] = s / djj;
        }
    }
    for i in 0..n {
        let norm = (0..=i).map(|k| l[i * n + k] * l[i * n + k]).sum::<f64>().sqrt();
        if norm > 0.0 {
            for k in 0..=i {
                l[i * n + k] /= norm;
            }
        }
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigenvalues_and_factor() {
        let a = [1.0, 0.6, 0.6, 1.0];
        let mut e = symmetric_eigenvalues(&a, 2);
        e.sort_by(f64::total_cmp);
        assert!((e[0] - 0.4).abs() < 1e-12 && (e[1] - 1.6).abs() < 1e-12);
        let l = psd_cholesky(&a, 2);
        assert!((l[2] - 0.6).abs() < 1e-12 && (l[3] - 0.8).abs() < 1e-12);
        // perfectly correlated: the second variable copies the first
        let one = [1.0; 9];
        let l = psd_cholesky(&one, 3);
        assert_eq!(l, vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        let bad = [1.0, 0.9, -0.9, 0.9, 1.0, 0.9, -0.9, 0.9, 1.0];
        let e = symmetric_eigenvalues(&bad, 3);
        assert!(e.iter().cloned().fold(f64::INFINITY, f64::min) < -0.5);
    }
}

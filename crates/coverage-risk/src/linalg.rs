//! The correlation matrix through nalgebra's symmetric eigendecomposition
//! `C = Q Λ Qᵀ`: its smallest eigenvalue for the positive semi-definite
//! check, and the copula's factor `F = Q √Λ` (`F Fᵀ = C`). A Cholesky factor
//! would do for a positive definite matrix, but nalgebra's `Cholesky::new`
//! refuses singular ones, which the model must take: perfectly correlated
//! markets (`tests::nalgebra_cholesky_refuses_perfect_correlation`).

use nalgebra::{DMatrix, SymmetricEigen};

/// Eigenvalues at or below this are rounding around zero (a singular
/// matrix): their directions get no weight in the factor.
const ZERO_EIGENVALUE: f64 = 1e-10;

fn decompose(rows: &[Vec<f64>]) -> SymmetricEigen<f64, nalgebra::Dyn> {
    let n = rows.len();
    SymmetricEigen::new(DMatrix::from_fn(n, n, |i, j| rows[i][j]))
}

/// The smallest eigenvalue of a symmetric matrix (given by rows).
pub fn min_eigenvalue(rows: &[Vec<f64>]) -> f64 {
    decompose(rows)
        .eigenvalues
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
}

/// Row-major `n × n` factor `F` with `F Fᵀ = C` for a positive semi-definite
/// correlation matrix `C` (given by rows): `Q √Λ`, eigenvalues up to
/// `ZERO_EIGENVALUE` taken as zero, then each row scaled to unit length so
/// every market's variable `z = F g` stays exactly standard normal (perfectly
/// correlated markets then get equal or opposite rows: the same variable).
pub fn correlation_factor(rows: &[Vec<f64>]) -> Vec<f64> {
    let n = rows.len();
    let e = decompose(rows);
    let root: Vec<f64> = e
        .eigenvalues
        .iter()
        .map(|&l| if l > ZERO_EIGENVALUE { l.sqrt() } else { 0.0 })
        .collect();
    let mut f = vec![0.0; n * n];
    for i in 0..n {
        let row = &mut f[i * n..(i + 1) * n];
        for (k, x) in row.iter_mut().enumerate() {
            *x = e.eigenvectors[(i, k)] * root[k];
        }
        let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|x| *x /= norm);
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize, v: &[f64]) -> Vec<Vec<f64>> {
        v.chunks(n).map(<[f64]>::to_vec).collect()
    }

    /// `F Fᵀ`, row-major.
    fn product(f: &[f64], n: usize) -> Vec<f64> {
        let mut p = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                p[i * n + j] = (0..n).map(|k| f[i * n + k] * f[j * n + k]).sum();
            }
        }
        p
    }

    #[test]
    fn factors_rebuild_the_matrix() {
        let pd = [1.0, 0.5, 0.3, 0.5, 1.0, 0.4, 0.3, 0.4, 1.0];
        let rank_two = [1.0, 0.6, 0.8, 0.6, 1.0, 0.96, 0.8, 0.96, 1.0]; // third = 0.8·first + 0.6·second
        for (m, min) in [(pd, 0.4), (rank_two, 0.0)] {
            let f = correlation_factor(&rows(3, &m));
            for (got, want) in product(&f, 3).iter().zip(m) {
                assert!((got - want).abs() < 1e-12, "{got} vs {want}");
            }
            if min == 0.0 {
                assert!(min_eigenvalue(&rows(3, &m)).abs() < 1e-12);
            } else {
                assert!(min_eigenvalue(&rows(3, &m)) > 0.3);
            }
        }
        let e = min_eigenvalue(&rows(2, &[1.0, 0.6, 0.6, 1.0]));
        assert!((e - 0.4).abs() < 1e-12);
        let bad = [1.0, 0.9, -0.9, 0.9, 1.0, 0.9, -0.9, 0.9, 1.0];
        assert!((min_eigenvalue(&rows(3, &bad)) + 0.8).abs() < 1e-12);
    }

    #[test]
    fn perfectly_correlated_markets_share_one_variable() {
        // every row the same unit vector: z_i = z_j exactly
        let f = correlation_factor(&rows(3, &[1.0; 9]));
        assert!(f.chunks(3).all(|r| r == &f[..3]), "{f:?}");
        assert_eq!(f[..3].iter().map(|x| x.abs()).sum::<f64>(), 1.0, "{f:?}");
        // a mirror image: opposite rows
        let f = correlation_factor(&rows(2, &[1.0, -1.0, -1.0, 1.0]));
        assert!(f[..2].iter().zip(&f[2..]).all(|(a, b)| *a == -*b), "{f:?}");
    }

    #[test]
    fn nalgebra_cholesky_refuses_perfect_correlation() {
        // why the factor comes from the eigendecomposition
        let ones = DMatrix::from_element(3, 3, 1.0);
        assert!(nalgebra::Cholesky::new(ones.clone()).is_none());
        assert!(nalgebra::Cholesky::new_with_substitute(ones, 0.0).is_none());
    }
}

"""Replicate weights made from a Taylor design (R ``as.svrepdesign(design, type = ..., compress = FALSE)``).

:func:`replicate_weights` turns a :class:`~carepop.Survey` described by strata, PSUs and fpcs into
a replicate-weight Survey whose replicate columns are R's ``weights(rep_design, "analysis")``: the
replicate factor of a row's PSU times the row's sampling weight. Methods and R's multipliers:

=============  ================================  ======================  ======================
method         replicate factor                  scale                   rscales
=============  ================================  ======================  ======================
jk1            0 for the dropped PSU,            (N-n)/N (n-1)/n         1
               n/(n-1) for the others
jkn            as jk1 within the dropped PSU's   1                       (N_h-n_h)/N_h
               stratum, 1 in other strata                                (n_h-1)/n_h
brr            2 / 0 by half-sample (Hadamard)   1/R                     1
fay            2-rho / rho by half-sample        1/(R (1-rho)^2)         1
bootstrap      times the PSU is drawn            nbar/((nbar-1)(R-1))    1
               (n_h draws)
subbootstrap   times drawn (n_h-1 draws)         1/(R-1)                 1
               times n_h/(n_h-1) (Rao-Wu)
sdr            1 + 2^(-3/2) (h_a - h_b): two     4/R                     1
               Hadamard rows per PSU in sort
               order (svrep, :mod:`.sdr`)
=============  ================================  ======================  ======================

(``(N-n)/N`` is 1 without an fpc; ``nbar`` is the harmonic mean of the PSUs per stratum.)

How R's choices are followed:

- fpc: the jackknives put the first-stage fpc into ``scale`` (jk1) or ``rscales`` (jkn), and a
  stratum taken completely (``N_h = n_h``) gets no replicates (R ``survey.drop.replicates``); the
  bootstrap draws ``n_h`` PSUs *without* replacement from a pseudo-population of ``floor(N_h)``
  PSUs (the stratum's PSUs repeated, R ``bootstratum``); BRR and Fay drop the fpc with a warning,
  as R does; later-stage fpcs are dropped with a warning (R).
- lonely PSUs (jkn): a stratum with one PSU follows the design's ``lonely_psu`` as R's
  ``jknweights`` follows ``survey.lonely.psu``: no replicate (remove, certainty, average; average
  also multiplies ``scale`` by #PSUs/#replicates), or (adjust) one replicate that zeroes the
  stratum and multiplies every other row by ``H/(H-1)`` with rscale ``(H-1)/H``. (R's
  ``compress = FALSE`` code for adjust has an indexing slip; the weights here are R's default
  ``compress = TRUE`` ones.)
- BRR/Fay: R's Hadamard matrix (``survey:::hadamard``: its stored matrices of order 4, 16, 28, 36,
  Paley's construction and doubling) and R's assignment: strata sorted by their labels as R's
  ``as.character`` strings (so strata 1..20 go 1, 10, 11, ..., 19, 2, 20, 3, ...), stratum k on
  row k + 1, the first PSU of a stratum taking the half-sample of Hadamard entry 1.

Row order never changes the weights a row gets: PSUs are taken in a canonical order (strata by
value, PSUs by value within their stratum) where R takes them in order of first appearance. So
the jackknife replicate columns are R's in that canonical order, and the BRR/Fay columns are R's
exactly whenever, within each stratum, the PSU with the smaller value comes first in the data (R
would swap a stratum's half-samples otherwise). When the design has no PSU column, each row is
its own PSU and the rows' order within a stratum is the only order there is.

The bootstrap is drawn with numpy (``seed``), so it cannot reproduce R's random numbers; its
distribution is R's.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from carepop.core import checks as chk
from carepop.core.estimation.replicate import ReplicateDesign
from carepop.core.estimation.repweights import FactorWeights
from carepop.core.survey import Survey
from carepop.core.vocabulary import ReplicateMethod, choose
from carepop.errors import CarepopError, DesignError, example_rows, opt
from carepop.weighting import sdr

# ----------------------------------------------------------------------------------------------
# R's Hadamard matrices (survey:::hadamard.list, entries 0/1), one hex string per row, and the
# small primes survey:::paley uses. Dumped from survey 4.1.1 with
#   for (H in survey:::hadamard.list) cat(nrow(H), apply(H, 1, paste, collapse = ""), "\n")
_HADAMARD_HEX = {
    4: "f a c 9",
    16: "ffff aaaa cccc 9999 f0f0 a5a5 c3c3 9696 ff00 aa55 cc33 9966 f00f a55a c33c 9669",
    28: "fffffff 9c71c78 83cd378 83b2e66 9a0f8d6 952c5ae 8cd239e 58aa7f0 45b59d4 46cbcac 561774a "
    "4b64e9a 5959b26 2d1eae8 3666b34 2b3b51c 31d74b2 32f89ca 2ced646 ea545e4 f1632cc f09ce1c e54ad52 "
    "e6392b2 e8a792a dffe000 bf81f80 7f8007e",
    36: "fffffffff 5c7dc8564 b8fb90ac8 71f721592 e3ee42b24 c7dc8564a 8fb90ac96 1f721592e 3ee42b25c "
    "7dc8564b8 fb90ac970 f721592e2 ee42b25c6 dc8564b8e b90ac971e 721592e3e e42b25c7c c8564b8fa "
    "90ac971f6 21592e3ee 42b25c7dc 8564b8fb8 0ac971f72 1592e3ee4 2b25c7dc8 564b8fb90 ac971f720 "
    "592e3ee42 b25c7dc84 64b8fb90a c971f7214 92e3ee42a 25c7dc856 4b8fb90ac 971f72158 2e3ee42b2",
}
_HADAMARD_SIZES = (4, 16, 28, 36)
_SMALL_PRIMES = (
    3, 7, 11, 19, 23, 31, 43, 47, 59, 67, 71, 79, 83, 103, 107, 127, 131, 139, 151, 163, 167, 179, 191,
    199, 211, 223, 227, 239, 251, 263, 271, 283, 307, 311, 331, 347, 359, 367, 379, 383, 419, 431, 439,
    443, 463, 467, 479, 487, 491, 499, 503, 523, 547, 563, 571, 587, 599, 607, 619, 631, 643, 647, 659,
    683, 691, 719, 727, 739, 743, 751, 787, 811, 823, 827, 839, 859, 863, 883, 887, 907, 911, 919, 947,
    967, 971, 983, 991, 1019, 1031, 1039, 1051, 1063, 1087, 1091, 1103, 1123, 1151, 1163, 1171, 1187,
    1223, 1231, 1259, 1279, 1283, 1291, 1303, 1307, 1319, 1327, 1367, 1399, 1423, 1427, 1439, 1447,
    1451, 1459, 1471, 1483, 1487, 1499, 1511, 1523, 1531, 1543, 1559, 1567, 1571, 1579, 1583, 1607,
    1619, 1627, 1663, 1667, 1699, 1723, 1747, 1759, 1783, 1787, 1811, 1823, 1831, 1847, 1867, 1871,
    1879, 1907, 1931, 1951, 1979, 1987, 1999, 2003, 2011, 2027, 2039, 2063, 2083, 2087, 2099, 2111,
    2131, 2143, 2179, 2203, 2207, 2239, 2243, 2251, 2267, 2287, 2311, 2339, 2347, 2351, 2371, 2383,
    2399, 2411, 2423, 2447, 2459, 2467, 2503, 2531, 2539, 2543, 2551, 2579, 2591, 2647, 2659, 2663,
    2671, 2683, 2687, 2699, 2707, 2711, 2719, 2731, 2767, 2791, 2803, 2819, 2843, 2851, 2879, 2887,
    2903, 2927, 2939, 2963, 2971, 2999, 3011, 3019, 3023, 3067, 3079, 3083, 3119, 3163, 3167, 3187,
    3191, 3203, 3251, 3259, 3271, 3299, 3307, 3319, 3323, 3331, 3343, 3347, 3359, 3371, 3391, 3407,
    3463, 3467, 3491, 3499, 3511, 3527, 3539, 3547, 3559, 3571, 3583, 3607, 3623, 3631, 3643, 3659,
    3671, 3691, 3719, 3727, 3739, 3767, 3779, 3803, 3823, 3847, 3851, 3863, 3907, 3911, 3919, 3923,
    3931, 3943, 3947, 3967, 4003, 4007, 4019, 4027, 4051, 4079, 4091, 4099, 4111, 4127, 4139, 4159,
    4211, 4219, 4231, 4243, 4259, 4271, 4283, 4327, 4339, 4363, 4391, 4423, 4447, 4451, 4463, 4483,
    4507, 4519, 4523, 4547, 4567, 4583, 4591, 4603, 4639, 4643, 4651, 4663, 4679, 4691, 4703, 4723,
    4751, 4759, 4783, 4787, 4799, 4831, 4871, 4903, 4919, 4931, 4943, 4951, 4967, 4987, 4999, 5003,
    5011, 5023, 5039, 5051, 5059, 5087, 5099, 5107, 5119, 5147, 5167, 5171, 5179, 5227, 5231, 5279,
    5303, 5323, 5347, 5351, 5387, 5399, 5407, 5419, 5431, 5443, 5471, 5479, 5483, 5503, 5507, 5519,
    5527, 5531, 5563, 5591, 5623, 5639, 5647, 5651, 5659, 5683, 5711, 5743, 5779, 5783, 5791, 5807,
    5827, 5839, 5843, 5851, 5867, 5879, 5903, 5923, 5927, 5939, 5987, 6007, 6011, 6043, 6047, 6067,
    6079, 6091, 6131, 6143, 6151, 6163, 6199, 6203, 6211, 6247, 6263, 6271, 6287, 6299, 6311, 6323,
    6343, 6359, 6367, 6379, 6427, 6451, 6491, 6547, 6551, 6563, 6571, 6599, 6607, 6619, 6659, 6679,
    6691, 6703, 6719, 6763, 6779, 6791, 6803, 6823, 6827, 6863, 6871, 6883, 6899, 6907, 6911, 6947,
    6959, 6967, 6971, 6983, 6991, 7019, 7027, 7039, 7043, 7079, 7103, 7127, 7151, 7159, 7187, 7207,
    7211, 7219, 7243, 7247, 7283, 7307, 7331, 7351, 7411, 7451, 7459, 7487, 7499, 7507, 7523, 7547,
    7559, 7583, 7591, 7603, 7607, 7639, 7643, 7687, 7691, 7699, 7703, 7723, 7727, 7759, 7823, 7867,
    7879, 7883, 7907, 7919,
)  # fmt: skip


def _stored_hadamard(size: int) -> np.ndarray:
    rows = _HADAMARD_HEX[size].split()
    bits = [format(int(r, 16), f"0{size}b") for r in rows]
    return np.array([[int(b) for b in row] for row in bits], dtype=np.int8)


def _double(m: np.ndarray) -> np.ndarray:
    """``survey:::hadamard.doubler``: ``rbind(cbind(H, H), cbind(H, 1 - H))``."""
    return np.block([[m, m], [m, 1 - m]]).astype(np.int8)


def _paley(n: int | None = None, nmax: int | None = None, prime: int | None = None) -> np.ndarray | None:
    """``survey:::paley``: a Paley-type Hadamard matrix of order ``p + 1`` (0/1), or None."""
    if prime is not None and n is None:
        n = prime
    assert n is not None
    if nmax is None:
        nmax = 2 * n
    if prime is None:
        nceil = nn = n + 4 - (n % 4)
        if (n % 4) + 4 == (n % 8):
            while nn % 8 == 0:
                nn //= 2
            if nn - 1 in _SMALL_PRIMES:
                m = _paley(prime=nn - 1)
                assert m is not None
                while nn < nceil:
                    m = _double(m)
                    nn *= 2
                return m
        if n > _SMALL_PRIMES[-1]:
            return None
        p = min(q for q in _SMALL_PRIMES if q >= n)
        if p + 1 > nceil + 4 and nceil + 4 < nmax:
            return _paley(nceil + 3)
        if p > nmax:
            return None
    else:
        p = prime
        if (p + 1) % 4 != 0 or p < n:
            return None
    residues = {0, 1} | {(i * i) % p for i in range(2, (p - 1) // 2 + 1)}
    m = np.add.outer(np.arange(p), np.arange(p)) % p
    m = np.where(np.isin(m, list(residues)), 0, 1)
    out = np.ones((p + 1, p + 1), dtype=np.int8)
    out[1:, 1:] = m
    return out


def hadamard(n: int) -> np.ndarray:
    """R ``survey:::hadamard(n)``: the 0/1 Hadamard matrix R's BRR uses for ``n`` strata (at least
    ``n + 1`` rows; row 1 is all ones and unused). Its number of columns is the number of
    replicates."""
    m = n - n % 4
    pre = [i for i, s in enumerate(_HADAMARD_SIZES) if m < s and m + 4 >= s]
    if pre:
        return _stored_hadamard(_HADAMARD_SIZES[min(pre)])
    if all(m < s for s in _HADAMARD_SIZES):
        return _stored_hadamard(_HADAMARD_SIZES[0])
    sizes = [s * 2 ** max(0, math.ceil(math.log2((n + 1) / s))) for s in _HADAMARD_SIZES]
    best = int(np.argmin([s - n for s in sizes]))
    H = _paley(n, sizes[best]) if sizes[best] - n > 4 else None
    if H is None:
        H = _stored_hadamard(_HADAMARD_SIZES[best])
        for _ in range(math.ceil(math.log2(sizes[best] / _HADAMARD_SIZES[best]))):
            H = _double(H)
    return H


# ----------------------------------------------------------------------------------------------


def replicate_weights(
    survey: Survey,
    method: str,
    replicates: int | None = None,
    rho: float | None = None,
    seed: int | np.random.Generator | None = None,
    fpc: bool = True,
    *,
    mse: bool | None = None,
    prefix: str = "repw_",
    sort_by: str | None = None,
    use_normal_hadamard: bool = False,
) -> Survey:
    """A replicate-weight Survey made from a Taylor design (R ``as.svrepdesign``).

    Parameters
    ----------
    survey : a Survey made with strata/PSU/fpc columns (not a replicate or calibrated one).
    method : ``jk1`` (unstratified), ``jkn`` (stratified), ``brr`` / ``fay`` (two PSUs in every
        stratum), ``bootstrap`` (R ``bootweights``) or ``subbootstrap`` (Rao-Wu, R
        ``subbootweights``) or ``sdr`` (successive difference replication, svrep
        ``as_sdr_design``; :mod:`carepop.weighting.sdr`). See the module docstring for the
        weights and multipliers.
    replicates : number of bootstrap replicates (default 50, as R); for ``sdr`` the target number
        (required, as in svrep; R is the order of the Hadamard matrix, at least this); fixed by
        the design otherwise.
    rho : Fay's coefficient, ``0 <= rho < 1`` (``fay`` only; R ``fay.rho``).
    seed : seed or numpy Generator for the bootstrap.
    fpc : use the design's first-stage fpc where R does (jackknife scale/rscales, the bootstrap's
        without-replacement draws; the SDR factors, as svrep). ``False`` treats the design as
        with-replacement.
    mse : centre the variance on the full-sample estimate (R ``mse``). Default: True for ``sdr``
        (svrep's default, Fay and Train's formula), False otherwise (R ``as.svrepdesign``).
    prefix : replicate columns are named ``prefix001``, ``prefix002``, ...
    sort_by : ``sdr`` only: the column giving the PSUs' sort order within strata (default: the
        canonical order, by PSU value; see :mod:`carepop.weighting.sdr`).
    use_normal_hadamard : ``sdr`` only: use R's normal Hadamard matrices (svrep's option; more
        numbers of replicates, e.g. 80, and one inactive replicate).

    The returned Survey's data has all of the original columns plus the replicate columns, which
    hold combined weights (replicate factor times sampling weight).
    """
    m = choose(method, ReplicateMethod, "method", "replicate-weight method")
    _check_input(survey, m, replicates, rho)
    sdr.check_sdr_only(m, sort_by, use_normal_hadamard)
    if mse is None:
        mse = m == "sdr"
    t = survey.taylor_design
    s1 = t.stage1
    use_fpc = bool(fpc) and s1.sampling_fraction is not None
    order, pos = _canonical_psus(survey)
    f = s1.f if use_fpc else np.ones(t.n_strata)
    if m in ("jk1", "jkn"):
        factors, scale, rscales = _jackknife(survey, order, f)
    elif m in ("brr", "fay"):
        r = 0.0 if m == "brr" else float(rho)
        factors = _brr(survey, order, pos, r)
        scale = 1.0 / (factors.shape[1] * (1 - r) ** 2)
        rscales = np.ones(factors.shape[1])
    elif m == "sdr":
        factors, scale, rscales = sdr.sdr_factors(
            survey,
            order,
            replicates,
            sort_by=sort_by,
            use_normal_hadamard=use_normal_hadamard,
            use_fpc=use_fpc,
            r_hadamard=hadamard,
        )
    else:
        B = 50 if replicates is None else int(replicates)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        if m == "bootstrap":
            factors, scale = _bootstrap(survey, order, B, rng, use_fpc)
        else:
            factors, scale = _subbootstrap(survey, order, B, rng)
        rscales = np.ones(B)
    if use_fpc and m == "subbootstrap":
        warnings.warn(
            "The Rao-Wu bootstrap does not use the fpc (R ignores it too).", UserWarning, stacklevel=2
        )
    if use_fpc and m in ("brr", "fay"):
        warnings.warn("Finite population correction dropped in conversion (as R).", UserWarning, stacklevel=2)
    if use_fpc and survey.fpc2 is not None and m in ("jk1", "jkn", "bootstrap", "sdr"):
        warnings.warn(
            "Finite population corrections after first stage have been dropped (as R).",
            UserWarning,
            stacklevel=2,
        )
    # factors is (#PSUs, R) in canonical PSU order: row j of it belongs to PSU order[j]; the
    # replicate weight of a row is its weight times its PSU's factor, kept as such (never n x R)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    store = FactorWeights(survey.weights, (rank[s1.unit],), (factors,))
    return _build(survey, store, m, rho, scale, rscales, mse, prefix)


# ----------------------------------------------------------------------------------------------


def _check_input(survey: Survey, m: str, replicates: int | None, rho: float | None) -> None:
    if survey.taylor_design is None:
        raise DesignError(
            "The survey already has replicate weights.",
            code="already_replicate",
            fix="make replicate weights from a design given by strata, PSUs and fpc (Survey(...))",
        )
    if survey.is_calibrated:
        raise DesignError(
            "Replicate weights cannot be made from a calibrated (post-stratified/raked) design: the "
            "replicates would not carry the calibration.",
            code="calibrated_design",
            fix="make the replicate weights from the uncalibrated design first, then calibrate the "
            "replicate design (each replicate is calibrated too)",
        )
    stratified = survey.strata is not None
    if m == "jk1" and stratified:
        raise DesignError(
            'The JK1 jackknife is for unstratified designs (R: "Can\'t use JK1 for a stratified design").',
            code="jk1_stratified",
            column=survey.strata,
            got=m,
            fix=("use the stratified jackknife, ", opt("method", "jkn")),
        )
    if m in ("jkn", "brr", "fay") and not stratified:
        raise DesignError(
            f'The {m.upper()} method needs a stratified design (R: "Must use JK1 or bootstrap for an '
            'unstratified design").',
            code="needs_strata",
            got=m,
            expected=("jk1", "bootstrap", "subbootstrap"),
            fix=(
                "use ",
                opt("method", "jk1"),
                " or ",
                opt("method", "bootstrap"),
                ", or give the design's ",
                opt("strata", metavar="COL"),
            ),
        )
    if m in ("bootstrap", "subbootstrap"):
        if replicates is not None and (int(replicates) != replicates or replicates < 2):
            raise CarepopError(
                f"The number of bootstrap replicates must be a whole number of at least 2, "
                f"not {replicates!r}.",
                code="bad_option",
                got=replicates,
                expected="a whole number >= 2",
                fix=("give ", opt("replicates", metavar="R"), ", e.g. 500 (R's default is 50)"),
            )
    elif replicates is not None and m != "sdr":
        raise CarepopError(
            f"The number of {m.upper()} replicates is fixed by the design; a number of replicates is "
            "for the bootstrap only.",
            code="bad_option",
            got=replicates,
            fix=("leave out ", opt("replicates", metavar="R")),
        )
    if m == "fay":
        if rho is None or not (0 <= rho < 1):
            raise CarepopError(
                f"Fay's method needs rho in [0, 1), not {rho!r}.",
                code="bad_option",
                got=rho,
                expected="0 <= rho < 1",
                fix=("give ", opt("rho", metavar="RHO"), ", e.g. 0.5 (rho = 0 is plain BRR)"),
            )
    elif rho is not None and not (m == "brr" and rho == 0):
        raise CarepopError(
            f"rho is Fay's coefficient and is not used by {m!r}.",
            code="bad_option",
            got=rho,
            fix=("use ", opt("method", "fay"), ", or leave out ", opt("rho", metavar="RHO")),
        )


def _canonical_psus(survey: Survey) -> tuple[np.ndarray, np.ndarray]:
    """PSUs in a row-order-free order: by stratum code (strata sorted by value), then by the PSU
    column's value (row order when there is no PSU column). Returns ``order`` (PSU codes in that
    order) and ``pos``, the position of each of them within its stratum (0, 1, ...)."""
    s1 = survey.taylor_design.stage1
    P = s1.n_total_units
    first = np.full(P, -1, dtype=np.int64)
    first[s1.unit[::-1]] = np.arange(s1.unit.shape[0] - 1, -1, -1)  # first row of each PSU
    key = chk.codes(survey.column(survey.psu))[first] if survey.psu is not None else first
    order = np.lexsort((key, s1.unit_group))
    start = np.concatenate([[0], np.cumsum(s1.n_units)[:-1]])
    pos = np.arange(P) - start[s1.unit_group[order]]
    return order, pos


def _jackknife(survey: Survey, order: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """R ``jk1weights`` / ``jknweights`` factors per PSU (canonical order), scale and rscales."""
    t = survey.taylor_design
    s1 = t.stage1
    n_h = s1.n_units
    H = t.n_strata
    g = s1.unit_group[order]  # stratum of each PSU, canonical order
    P = order.shape[0]
    lonely = (n_h == 1) & (f != 0)
    if lonely.any() and survey.strata is not None:
        policy = survey.lonely_psu
        if policy == "fail":
            raise DesignError(
                f'{int(lonely.sum())} stratum/strata have only one PSU (R: "Stratum has only one PSU").',
                code="lonely_psu",
                column=survey.strata,
                rows=example_rows(np.arange(1, t.stratum.shape[0] + 1), lonely[t.stratum]),
                fix=(
                    "make the Survey with a lonely-PSU policy, ",
                    opt("lonely_psu", metavar="POLICY"),
                    ": 'certainty', 'remove', 'adjust' or 'average', as R's options(survey.lonely.psu=)",
                ),
            )
    else:
        policy = "fail"
    if survey.strata is None and n_h[0] < 2:
        raise DesignError(
            "The jackknife needs at least two PSUs.", code="too_few_psus", fix="check the PSU column"
        )
    # one replicate per PSU of a stratum that is neither taken completely (f = 0) nor lonely;
    # under 'adjust' one replicate for a lonely stratum
    drops = (f[g] != 0) & ~lonely[g]
    adjust = lonely[g] if policy == "adjust" else np.zeros(P, dtype=bool)
    cols = np.flatnonzero(drops | adjust)  # canonical PSU positions that make a replicate
    R = cols.shape[0]
    if R == 0:
        raise DesignError(
            "Every stratum was sampled completely (fpc = sample size): there is no sampling variance "
            'and no jackknife replicate (R: "All strata were exhaustively sampled").',
            code="no_replicates",
            column=survey.fpc,
            fix=("check the fpc column, or ignore it with ", opt("fpc", False)),
        )
    gc = g[cols]
    nc = n_h[gc].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mult = nc / (nc - 1)  # R: outer(psu, unq, "!=") * n / (n - 1)
    same = g[:, None] == gc[None, :]
    factors = np.where(same, mult[None, :], 1.0)
    factors[cols, np.arange(R)] = 0.0
    rscales = f[gc] * (nc - 1) / nc
    is_adj = adjust[cols]
    if is_adj.any():
        # R jknweights, lonely.psu = "adjust": 0 in the stratum, nstrat/(nstrat - 1) elsewhere
        factors[:, is_adj] = np.where(same[:, is_adj], 0.0, H / (H - 1))
        rscales[is_adj] = (H - 1) / H
    scale = 1.0
    if survey.strata is None:
        # R jk1weights: rscales 1, the fpc and (n-1)/n in the scale
        scale = float(f[0] * (n_h[0] - 1) / n_h[0])
        rscales = np.ones(R)
    elif R < P and policy == "average":
        scale = P / R
    return factors, scale, rscales


def _r_string(v: Any) -> str:
    """A stratum value as R's ``as.character`` writes it (15 significant digits for doubles)."""
    if isinstance(v, (bool, np.bool_)):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if not math.isfinite(x):
            return {True: "Inf", False: "-Inf"}[x > 0] if not math.isnan(x) else "NaN"
        if x == 0:
            return "0"
        mant, exp = f"{x:.14e}".split("e")
        e = int(exp)
        digits = mant.replace("-", "").replace(".", "").rstrip("0") or "0"
        d = len(digits)
        sci_m = digits[0] + ("." + digits[1:] if d > 1 else "")
        sci = ("-" if x < 0 else "") + f"{sci_m}e{'-' if e < 0 else '+'}{abs(e):02d}"
        fixed = f"{x:.{max(0, d - 1 - e)}f}"
        return fixed if len(fixed) <= len(sci) else sci
    return str(v)


def _brr(survey: Survey, order: np.ndarray, pos: np.ndarray, rho: float) -> np.ndarray:
    """R ``brrweights(strata, psu, fay.rho = rho)`` factors per PSU (canonical order)."""
    t = survey.taylor_design
    n_h = t.stage1.n_units
    bad = n_h != 2
    strata = survey.column(survey.strata).to_numpy()
    if bad.any():
        ex = pd.unique(strata[bad[t.stratum]])[:5]
        raise DesignError(
            f"BRR needs exactly 2 PSUs in every stratum; {int(bad.sum())} stratum/strata have "
            f"{sorted(set(n_h[bad].tolist()))} PSUs (e.g. strata {list(ex)}).",
            code="brr_needs_two_psus",
            column=survey.strata,
            rows=example_rows(np.arange(1, t.stratum.shape[0] + 1), bad[t.stratum]),
            fix=(
                "pair PSUs into pseudo-strata of two (or collapse strata with one PSU), or use ",
                opt("method", "jkn"),
                " or ",
                opt("method", "bootstrap"),
            ),
        )
    H = t.n_strata
    # stratum labels as R's strings, sorted as R's order() does (C collation)
    first = np.full(H, -1, dtype=np.int64)
    first[t.stratum[::-1]] = np.arange(t.stratum.shape[0] - 1, -1, -1)
    labels = [_r_string(v) for v in strata[first]]
    srank = np.empty(H, dtype=np.int64)
    srank[sorted(range(H), key=lambda k: labels[k])] = np.arange(1, H + 1)
    Hm = hadamard(H)
    g = t.stage1.unit_group[order]
    h = Hm[srank[g], :]  # (P, R): the Hadamard row of each PSU's stratum
    # R: weights[, 1] is 0 for a stratum's first PSU, 1 for its second; weights[, 2] the reverse;
    # replicate i takes column H[1 + k, i] + 1 as "wa" and the other as "wb"
    w1 = (pos != 0).astype(float)[:, None]
    w2 = 1.0 - w1
    wa = np.where(h == 0, w1, w2)
    wb = np.where(h == 0, w2, w1)
    return wa * (2 - rho) + wb * rho


def _harmonic_psus(n_h: np.ndarray) -> float:
    """R ``1/mean(1/table(ustrata))``."""
    return float(1 / np.mean(1 / n_h.astype(float)))


def _bootstrap(
    survey: Survey, order: np.ndarray, B: int, rng: np.random.Generator, use_fpc: bool
) -> tuple[np.ndarray, float]:
    """R ``bootweights``: in each stratum ``n_h`` PSUs drawn with replacement (no fpc) or without
    replacement from the stratum's PSUs repeated to ``floor(N_h)`` (fpc); a PSU's factor is the
    number of times it is drawn. Scale ``nbar/((nbar - 1)(B - 1))``."""
    t = survey.taylor_design
    s1 = t.stage1
    n_h = s1.n_units
    nbar = _harmonic_psus(n_h)
    if nbar <= 1:
        raise DesignError(
            "Every stratum has one PSU: the bootstrap has no variation.",
            code="too_few_psus",
            fix="collapse strata so that they have at least two PSUs",
        )
    g = s1.unit_group[order]
    P = order.shape[0]
    start = np.concatenate([[0], np.cumsum(n_h)[:-1]])
    if not use_fpc:
        # n_h draws with replacement in every stratum: draw slot j (of stratum g[j]) picks a PSU
        picks = start[g][None, :] + rng.integers(0, n_h[g][None, :], size=(B, P))
        counts = np.bincount((picks + P * np.arange(B)[:, None]).ravel(), minlength=P * B)
        factors = counts.reshape(B, P).T.astype(float)
    else:
        pop = s1.population
        factors = np.empty((P, B))
        for h in range(t.n_strata):  # a loop over strata: one multivariate hypergeometric each
            n = int(n_h[h])
            N = int(math.floor(pop[h]))
            copies = np.full(n, N // n, dtype=np.int64)
            copies[rng.permutation(n)[: N % n]] += 1  # R: rep(sample(psus), length = N)
            sl = slice(start[h], start[h] + n)
            factors[sl] = rng.multivariate_hypergeometric(copies, n, size=B).T
    scale = nbar / ((nbar - 1) * (B - 1))
    return factors, scale


def _subbootstrap(
    survey: Survey, order: np.ndarray, B: int, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """R ``subbootweights`` (Rao and Wu's rescaling bootstrap): in each stratum ``n_h - 1`` PSUs
    drawn with replacement; factor ``count * n_h/(n_h - 1)``; scale ``1/(B - 1)``."""
    t = survey.taylor_design
    s1 = t.stage1
    n_h = s1.n_units
    if (n_h < 2).any():
        raise DesignError(
            "The Rao-Wu bootstrap needs at least two PSUs in every stratum (R gives NaN weights).",
            code="lonely_psu",
            column=survey.strata,
            rows=example_rows(np.arange(1, t.stratum.shape[0] + 1), (n_h < 2)[t.stratum]),
            fix=("collapse strata with one PSU, or use ", opt("method", "bootstrap")),
        )
    g = s1.unit_group[order]
    P = order.shape[0]
    start = np.concatenate([[0], np.cumsum(n_h)[:-1]])
    pos = np.arange(P) - start[g]
    slots = np.flatnonzero(pos < n_h[g] - 1)  # n_h - 1 draw slots per stratum
    picks = start[g[slots]][None, :] + rng.integers(0, n_h[g[slots]][None, :], size=(B, slots.shape[0]))
    counts = np.bincount((picks + P * np.arange(B)[:, None]).ravel(), minlength=P * B)
    n = n_h[g].astype(float)
    factors = counts.reshape(B, P).T * (n / (n - 1))[:, None]
    return factors, 1.0 / (B - 1)


def _build(
    survey: Survey,
    store: FactorWeights,
    m: str,
    rho: float | None,
    scale: float,
    rscales: np.ndarray,
    mse: bool,
    prefix: str,
) -> Survey:
    R = store.n_replicates
    width = max(3, len(str(R)))
    names = [f"{prefix}{i:0{width}d}" for i in range(1, R + 1)]
    clash = [c for c in names if c in survey.columns]
    if clash:
        raise CarepopError(
            f"The data already has columns named like the replicate weights (e.g. {clash[0]!r}).",
            code="column_exists",
            column=clash[0],
            fix=("give another ", opt("prefix", metavar="PREFIX"), " for the replicate-weight columns"),
        )
    kind = {"subbootstrap": "bootstrap"}.get(m, m)
    if kind == "fay" and rho == 0:
        kind = "brr"
    rep = ReplicateDesign(
        kind,
        store,
        float(scale),
        np.asarray(rscales, dtype=float).copy(),
        bool(mse),
        rho if kind == "fay" else None,
        tuple(names),
    )
    return survey.with_replicates(rep)

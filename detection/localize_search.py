"""The slice lattice and the penalized-likelihood pursuit behind `detection.localize`.

`Lattice` indexes every slice of every cuboid (subset of dimensions) of the leaves; `Pursuit` picks a
set of non-nested slices (never every child of one slice along one dimension), each scaling its
leaves by a fitted factor, that minimizes
``-2·quasi-log-likelihood + Σ penalty(depth)``: greedy forward selection screened in one vectorized
pass per cuboid, then local moves (drop, generalize, merge two into their intersection, split one
into descendants) until nothing improves. Leaves are never looped over in Python; cells (the parts of
the partition the selected slices induce) and slices are few.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Iterator, Sequence

import numpy as np


SliceId = tuple[int, int]  # (cuboid index, slice index within the cuboid)


def mixed_radix(codes: np.ndarray, cards: Sequence[int]) -> np.ndarray | None:
    """One int64 key per row of value codes, or None when the key space would overflow."""
    if math.prod(int(c) for c in cards) >= 2**62:
        return None
    key = np.zeros(len(codes), dtype=np.int64)
    for j, card in enumerate(cards):
        key = key * int(card) + codes[:, j]
    return key


class Lattice:
    """Every non-empty slice of every cuboid up to ``max_depth`` dimensions, as integer indices."""

    def __init__(self, codes: np.ndarray, cards: Sequence[int], max_depth: int | None = None):
        n, d = codes.shape
        depth = d if max_depth is None else max(1, min(int(max_depth), d))
        self.n_leaves = n
        self.cuboids = [c for k in range(1, depth + 1) for c in combinations(range(d), k)]
        self.slice_of: list[np.ndarray] = []  # per cuboid: slice index of every leaf
        self.values: list[np.ndarray] = []  # per cuboid: (n_slices, depth) value codes
        for cub in self.cuboids:
            sub, sub_cards = codes[:, cub], [cards[j] for j in cub]
            key = mixed_radix(sub, sub_cards)
            size = math.prod(sub_cards)
            if key is not None:
                if size <= 4 * n + 1024:
                    present = np.bincount(key, minlength=size) > 0
                    inv = (np.cumsum(present) - 1)[key]
                    rest = np.flatnonzero(present)
                else:  # sorting one int64 key is far faster than sorting rows
                    rest, inv = np.unique(key, return_inverse=True)
                vals = np.empty((len(rest), len(cub)), dtype=np.int64)
                for j in range(len(cub) - 1, -1, -1):
                    vals[:, j] = rest % sub_cards[j]
                    rest = rest // sub_cards[j]
            else:
                vals, inv = np.unique(sub, axis=0, return_inverse=True)
            self.slice_of.append(np.asarray(inv, dtype=np.int64).ravel())
            self.values.append(vals)
        self.depth_of = np.array([len(c) for c in self.cuboids])
        self.count_at_depth = {
            k: sum(len(v) for v, c in zip(self.values, self.cuboids) if len(c) == k) for k in range(1, depth + 1)
        }
        self._members: dict[SliceId, np.ndarray] = {}
        self._filters: dict[SliceId, dict[int, int]] = {}
        self._children: dict[tuple[int, SliceId], int] = {}
        self._disjoint: dict[tuple[SliceId, SliceId], bool] = {}
        self._found: dict[tuple, SliceId | None] = {}
        self._rows: dict[SliceId, np.ndarray] = {}
        self._cuboid_index = {cub: c for c, cub in enumerate(self.cuboids)}
        self.n_dims = d

    def n_slices(self, c: int) -> int:
        return len(self.values[c])

    def members(self, s: SliceId) -> np.ndarray:
        """Sorted leaf indices of slice s."""
        idx = self._members.get(s)
        if idx is None:
            idx = np.flatnonzero(self.slice_of[s[0]] == s[1])
            self._members[s] = idx
        return idx

    def filters(self, s: SliceId) -> dict[int, int]:
        """The slice as {dimension index: value code}."""
        f = self._filters.get(s)
        if f is None:
            f = dict(zip(self.cuboids[s[0]], self.values[s[0]][s[1]].tolist()))
            self._filters[s] = f
        return f

    def find(self, filters: dict[int, int]) -> SliceId | None:
        key = tuple(sorted(filters.items()))
        if key in self._found:
            return self._found[key]
        cub = tuple(j for j, _ in key)
        c = self._cuboid_index.get(cub)
        found = None
        if c is not None:
            hit = np.flatnonzero(np.all(self.values[c] == np.array([v for _, v in key]), axis=1))
            found = (c, int(hit[0])) if len(hit) else None
        self._found[key] = found
        return found

    def overlaps(self, slices: Sequence[SliceId]) -> np.ndarray:
        """(k, k) booleans: which of the slices share a leaf (agree on every dimension both fix)."""
        rows = []
        for s in slices:
            row = self._rows.get(s)
            if row is None:
                row = np.full(self.n_dims, -1, dtype=np.int64)
                row[list(self.cuboids[s[0]])] = self.values[s[0]][s[1]]
                self._rows[s] = row
            rows.append(row)
        f = np.array(rows)
        return np.all((f[:, None, :] == f[None, :, :]) | (f[:, None, :] < 0) | (f[None, :, :] < 0), axis=2)

    def related(self, c: int, s: SliceId) -> np.ndarray:
        """Indices of the slices of cuboid c that are s, an ancestor of s or a descendant of s."""
        fs, cub = self.filters(s), self.cuboids[c]
        if set(cub) <= set(fs):
            return np.flatnonzero(np.all(self.values[c] == np.array([fs[j] for j in cub]), axis=1))
        if set(fs) <= set(cub):
            pos = [cub.index(j) for j in fs]
            return np.flatnonzero(np.all(self.values[c][:, pos] == np.array(list(fs.values())), axis=1))
        return np.zeros(0, dtype=np.int64)

    def n_children(self, c: int, s: SliceId) -> int:
        """Number of (non-empty) slices of cuboid c that agree with s on s's dimensions."""
        key = (c, s)
        n = self._children.get(key)
        if n is None:
            n = len(self.related(c, s))
            self._children[key] = n
        return n

    def nested(self, s: SliceId, t: SliceId) -> bool:
        """True when s and t are equal or one is an ancestor of the other."""
        fs, ft = self.filters(s), self.filters(t)
        small, big = (fs, ft) if len(fs) <= len(ft) else (ft, fs)
        return all(big.get(k) == v for k, v in small.items())

    def disjoint(self, s: SliceId, t: SliceId) -> bool:
        """True when no leaf lies in both slices (they differ on a shared dimension)."""
        key = (s, t) if s <= t else (t, s)
        hit = self._disjoint.get(key)
        if hit is None:
            fs, ft = self.filters(s), self.filters(t)
            hit = self._disjoint[key] = any(k in ft and ft[k] != v for k, v in fs.items())
        return hit


@dataclass
class Block:
    """Joint fit of the factors of selected slices that overlap one another (a connected component)."""

    slices: tuple[SliceId, ...]
    factors: np.ndarray
    covered: np.ndarray  # sorted leaf indices under the slices
    mu: np.ndarray  # fitted means of those leaves
    dev: np.ndarray  # their deviances
    unit: np.ndarray  # their dispersion units
    informative: np.ndarray  # whether they inform a dispersion
    group: np.ndarray  # cuboid of the strongest slice over each leaf (its dispersion group)

    def by_group(self) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per dispersion group: the deviances, units and informativeness of its leaves here."""
        parts = self.__dict__.get("_by_group")
        if parts is None:
            cuboids = sorted({s[0] for s in self.slices})
            if len(cuboids) == 1:
                parts = {cuboids[0]: (self.dev, self.unit, self.informative)}
            else:  # each group's leaves in leaf order
                if len(cuboids) <= 4:  # a pass per group
                    pieces = [np.flatnonzero(self.group == g) for g in cuboids]
                else:  # a stable sort of small integers is a radix sort: linear in the leaves
                    order = np.argsort(self.group.astype(np.int16), kind="stable")
                    counts = np.bincount(self.group, minlength=cuboids[-1] + 1)[cuboids]
                    pieces = np.split(order, np.cumsum(counts)[:-1])
                parts = {g: (self.dev[i], self.unit[i], self.informative[i]) for g, i in zip(cuboids, pieces) if len(i)}
            self.__dict__["_by_group"] = parts
        return parts


class Fit:
    """A selection of non-nested slices: its blocks (which never share a leaf), the dispersion of
    each group of leaves (``s_of_group``: cuboid index -> relative dispersion), and the objective
    relative to the null. The fitted mean and dispersion of the covered leaves are assembled on
    demand (`arrays`): most trial fits of the search are only compared by their objective."""

    def __init__(self, selected, blocks, s_of_group: dict[int, float], a: float, objective: float):
        self.selected: tuple[SliceId, ...] = selected
        self.blocks: tuple[Block, ...] = tuple(blocks)
        self.s_of_group, self.a = s_of_group, a
        self.objective = objective
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Covered leaves with their fitted mean and dispersion."""
        if self._arrays is None:
            if not self.blocks:
                empty = np.zeros(0)
                self._arrays = (np.zeros(0, dtype=np.int64), empty, empty)
            else:
                s_leaf = np.concatenate([_lookup(self.s_of_group, b.group) for b in self.blocks])
                unit = np.concatenate([b.unit for b in self.blocks])
                self._arrays = (np.concatenate([b.covered for b in self.blocks]),
                                np.concatenate([b.mu for b in self.blocks]), self.a + s_leaf * unit)
        return self._arrays

    @property
    def covered(self) -> np.ndarray:
        return self.arrays()[0]


def _lookup(table: dict[int, float], keys: np.ndarray) -> np.ndarray:
    """``table[k]`` for every k of a small-valued integer array."""
    dense = np.zeros(int(keys.max()) + 1)
    for k, v in table.items():
        if k < len(dense):
            dense[k] = v
    return dense[keys]


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    """``np.allclose`` for small finite arrays without its overhead (it runs in the inner loops)."""
    return bool(np.max(np.abs(a - b) - rtol * np.abs(b), initial=0.0) <= atol)


def _compress(keys: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of non-negative int keys below `bound` and each key's index among them."""
    if bound <= 4 * len(keys) + 4096:
        present = np.bincount(keys, minlength=bound) > 0
        return np.flatnonzero(present), (np.cumsum(present) - 1)[keys]
    cells, inv = np.unique(keys, return_inverse=True)
    return cells, inv.ravel()


class Pursuit:
    """Penalized-likelihood search over the lattice for one noise model (see the module docstring)."""

    def __init__(
        self,
        lattice: Lattice,
        model,
        *,
        penalty: float,
        penalty_offset: float,
        max_slices: int,
        screen: int,
        dispersion_prior: float,
        max_split: int = 6,
        max_rounds: int = 25,
        blocks: dict[frozenset, Block] | None = None,
    ):
        self.lat, self.model = lattice, model
        self.max_slices, self.n_screen, self.nu = max_slices, screen, dispersion_prior
        self.max_split, self.max_rounds = max_split, max_rounds
        self.pen_depth = {k: penalty * math.log(max(m, 2)) + penalty_offset for k, m in lattice.count_at_depth.items()}
        n = lattice.n_leaves
        leaves = np.arange(n)
        self.a, self.s0 = model.a, model.s0
        self.s_floor = 0.0 if self.a > 0 else 1e-12
        self.phi0 = self.a + max(self.s0, self.s_floor) * model.unit(leaves, model.e)
        self.null_term = model.deviance(leaves, model.e) / self.phi0 + np.log(self.phi0)
        p0, q0 = model.screen_terms(leaves, model.e, self.phi0)
        self.p0 = [np.bincount(s, weights=p0, minlength=lattice.n_slices(c)) for c, s in enumerate(lattice.slice_of)]
        self.q0 = [np.bincount(s, weights=q0, minlength=lattice.n_slices(c)) for c, s in enumerate(lattice.slice_of)]
        self._fits: dict[frozenset, Fit] = {}
        self._blocks: dict[frozenset, Block] = {} if blocks is None else blocks
        self._null_sums: dict[frozenset, float] = {}
        self._null_gains: dict[int, np.ndarray] = {}
        self._groups: dict[tuple[int, frozenset], tuple[float, float]] = {}
        self._related: dict[SliceId, list[np.ndarray]] = {}
        self._splits: dict[tuple, Fit] = {}
        self._recent: dict[SliceId, float] = {}  # each slice's latest fitted factor
        self._insides: dict[tuple[SliceId, int], tuple[np.ndarray, np.ndarray]] = {}
        self.null = Fit((), (), {}, self.a, 0.0)

    def penalty(self, s: SliceId) -> float:
        return self.pen_depth[int(self.lat.depth_of[s[0]])]

    def total(self, fit: Fit) -> float:
        """The penalized objective (lower is better)."""
        return fit.objective + sum(self.penalty(s) for s in fit.selected)

    # -- exact fit of a selection ---------------------------------------------------------------
    def fit(self, selected: Sequence[SliceId]) -> Fit:
        sel = tuple(selected)
        key = frozenset(sel)
        hit = self._fits.get(key)
        if hit is None:
            hit = self._assemble(sel, [self._block(c) for c in self._components(sel)]) if sel else self.null
            self._fits[key] = hit
        return hit

    def _assemble(self, sel: tuple[SliceId, ...], blocks: list[Block]) -> Fit:
        """Dispersions and objective of a selection. Slices of one cuboid share a dispersion (an
        anomaly's elements usually spread alike), and a cuboid keeps a dispersion of its own only
        when it pays for it (BIC: the log of its informative leaves). A group's term depends only on
        the blocks holding its leaves, so a trial that changes one block recomputes only its groups."""
        keys = [frozenset(b.slices) for b in blocks]
        members: dict[int, list[int]] = {}
        for i, block in enumerate(blocks):
            for g in block.by_group():
                members.setdefault(g, []).append(i)
        objective, s_of_group = 0.0, {}
        for g, holders in members.items():
            term, s_g = self._group_term(g, [blocks[i] for i in holders], frozenset(keys[i] for i in holders))
            objective += term
            s_of_group[g] = s_g
        objective -= sum(self._null_sum(key, block) for key, block in zip(keys, blocks))
        return Fit(sel, blocks, s_of_group, self.a, objective)

    def _null_sum(self, key: frozenset, block: Block) -> float:
        total = self._null_sums.get(key)
        if total is None:
            total = float(np.sum(self.null_term[block.covered]))
            self._null_sums[key] = total
        return total

    def _group_term(self, g: int, blocks: list[Block], key: frozenset) -> tuple[float, float]:
        """The objective term of one dispersion group and its dispersion: the null's, or its own
        when that pays its price."""
        hit = self._groups.get((g, key))
        if hit is None:
            parts = [b.by_group()[g] for b in blocks]
            dev, unit, informative = (np.concatenate(x) if len(parts) > 1 else x[0] for x in zip(*parts))
            s_null = max(self.s0, self.s_floor)
            s_free = self._group_dispersion(dev, unit, informative)
            t_null = self._dispersion_term(dev, unit, s_null)
            hit = (t_null, s_null)
            if s_free != s_null:  # else its own dispersion is the null's plus a price: never better
                t_free = self._dispersion_term(dev, unit, s_free) + math.log(max(int(informative.sum()), 2))
                if t_free < t_null:
                    hit = (t_free, s_free)
            self._groups[(g, key)] = hit
        return hit

    def _dispersion_term(self, dev: np.ndarray, unit: np.ndarray, s: float) -> float:
        """``sum(dev/phi + log(phi))`` with ``phi = a + s·unit``; one logarithm when ``s`` is 0
        (numpy's log gives one value for every element of a constant array)."""
        if s == 0.0:
            return float(np.sum(dev / self.a + np.log(np.full(1, self.a))[0]))
        phi = self.a + s * unit
        return float(np.sum(dev / phi + np.log(phi)))

    def _components(self, sel: tuple[SliceId, ...]) -> list[tuple[SliceId, ...]]:
        """The selection's groups of (transitively) overlapping slices, each sorted."""
        overlap = self.lat.overlaps(sel).tolist() if len(sel) > 1 else [[True]]
        comps: list[list[int]] = []
        for i in range(len(sel)):
            row = overlap[i]
            touching = [c for c in comps if any(row[j] for j in c)]
            comps = [c for c in comps if all(c is not t for t in touching)]
            comps.append([i] + [j for c in touching for j in c])
        return [tuple(sorted(sel[j] for j in c)) for c in comps]

    def _block(self, comp: tuple[SliceId, ...]) -> Block:
        key = frozenset(comp)
        hit = self._blocks.get(key)
        if hit is not None:
            return hit
        model = self.model
        members = [self.lat.members(s) for s in comp]
        if len(comp) == 1:
            covered = members[0]
            inv = np.zeros(len(covered), dtype=np.int64)
            member_of = np.ones((1, 1), dtype=bool)
        else:
            signature = np.zeros(self.lat.n_leaves, dtype=np.int64)
            for i, idx in enumerate(members):
                signature[idx] |= 1 << i
            covered = np.flatnonzero(signature)
            cells, inv = _compress(signature[covered], 1 << len(comp))
            member_of = ((cells[:, None] >> np.arange(len(comp))) & 1).astype(bool)
        n_cells = member_of.shape[0]
        a_stat, b_stat = model.cell_stats(covered, inv, n_cells)
        factors = self._solve_factors(member_of, a_stat, b_stat, comp)
        self._recent.update(zip(comp, factors.tolist()))
        cell_m = np.prod(np.where(member_of, factors[None, :], 1.0), axis=1)
        mu = model.mean(covered, cell_m[inv])
        dev = model.deviance(covered, mu)
        unit = model.unit(covered, mu)
        # a leaf under several slices gets the dispersion group of the strongest one
        strength = np.abs(np.log(np.maximum(np.abs(factors), 1e-12)))
        primary = np.argmax(np.where(member_of, strength[None, :] + 1e-9, -1.0), axis=1)
        cuboid_of = np.array([s[0] for s in comp])
        block = Block(comp, factors, covered, mu, dev, unit, model.informative(covered, mu), cuboid_of[primary[inv]])
        self._blocks[key] = block
        return block

    def _warm_start(self, comp: tuple[SliceId, ...]) -> np.ndarray:
        """Starting factors of a block: those of the block without one of its slices when it was
        fitted already (a forward step adds one slice to a fitted block), else ones."""
        start = np.ones(len(comp))
        if len(comp) > 2:
            for s in comp:
                known = self._blocks.get(frozenset(comp) - {s})
                if known is not None:
                    fitted = dict(zip(known.slices, known.factors))
                    return np.array([fitted.get(t, 1.0) for t in comp])
        return start

    def _solve_factors(self, member_of: np.ndarray, a: np.ndarray, b: np.ndarray,
                       comp: tuple[SliceId, ...]) -> np.ndarray:
        """The factors of a block's slices from its cell statistics: in one step when no two slices
        overlap; jointly when the model can (`joint_factors`, to convergence, from the slices' latest
        fitted factors); else by coordinate ascent over the cells (from `_warm_start`), keeping the
        product of every slice's factor on each cell up to date so that updating one slice touches
        only its own cells."""
        k = member_of.shape[1]
        rows = [np.flatnonzero(member_of[:, i]) for i in range(k)]
        overlapping = member_of.sum(axis=1).max() > 1
        if overlapping:
            joint = self.model.joint_factors(member_of, a, b, np.array([self._recent.get(s, 1.0) for s in comp]))
            if joint is not None:
                return joint
        solvers = [self.model.factor_solver(a[r], b[r]) for r in rows]
        if not overlapping:
            return np.array([solve(np.ones(len(r))) for r, solve in zip(rows, solvers)])
        factors = self._warm_start(comp)
        product = np.prod(np.where(member_of, factors[None, :], 1.0), axis=1)
        current = factors.tolist()  # Python floats: the sweep reads and writes one factor at a time
        for _ in range(50):
            previous = np.array(current)
            for i, (r, solve) in enumerate(zip(rows, solvers)):
                if current[i] != 0:
                    m_other = product[r] / current[i]
                else:
                    others = member_of[r].copy()
                    others[:, i] = False
                    m_other = np.where(others, np.array(current), 1.0).prod(axis=1)
                current[i] = solve(m_other)
                product[r] = m_other * current[i]
            if _close(np.array(current), previous, rtol=1e-5, atol=1e-8):
                break
        return np.array(current)

    def _group_dispersion(self, dev: np.ndarray, unit: np.ndarray, informative: np.ndarray) -> float:
        """Relative dispersion ``s`` of a group of leaves: the quasi-likelihood estimate (so the
        objective is stationary in it) with ``nu`` pseudo-leaves at the null's value, and never
        below the null's: a slice may be noisier than the rest (the spread of an anomaly), but a
        slice that is merely quieter than the null says the null is too wide, not that it is a
        root cause."""
        s0 = max(self.s0, self.s_floor)
        if not informative.any():
            return s0
        d, u = dev[informative], unit[informative]
        excess = d - self.a
        s = s0
        for _ in range(6):  # iteratively reweighted: s = sum(u/phi²·(D - a)) / sum(u²/phi²)
            phi = self.a + s * u
            w = u / (phi * phi)
            num = float(np.dot(w, excess))
            den = float(np.dot(w, u))
            prior = self.nu * den / len(d)
            s_new = max((num + prior * s0) / max(den + prior, 1e-300), s0)
            done = abs(s_new - s) - 1e-3 * abs(s) <= 1e-8
            s = s_new
            if done:
                break
        return s

    # -- vectorized screening of every candidate slice ------------------------------------------
    def related_slices(self, s: SliceId) -> list[np.ndarray]:
        rel = self._related.get(s)
        if rel is None:
            rel = [self.lat.related(c, s) for c in range(len(self.lat.cuboids))]
            self._related[s] = rel
        return rel

    def leaf_state(self, fit: Fit, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fitted mean and dispersion of the given (sorted) leaves under `fit`."""
        mu = self.model.e[idx].copy()
        phi = self.phi0[idx].copy()
        covered, fit_mu, fit_phi = fit.arrays()
        if len(covered):
            pos = np.searchsorted(idx, covered)
            ok = pos < len(idx)
            ok[ok] = idx[pos[ok]] == covered[ok]
            mu[pos[ok]] = fit_mu[ok]
            phi[pos[ok]] = fit_phi[ok]
        return mu, phi

    def screen(self, fit: Fit, within: SliceId | None = None) -> list[SliceId]:
        """The most promising slices to add (at most `screen`), by their score-test gain less penalty;
        with `within`, only descendants of that slice."""
        lat, model = self.lat, self.model
        if within is None:  # the null sums plus the change on the covered leaves
            idx, mu, phi = fit.arrays()
            p, q = model.screen_terms(idx, mu, phi)
            p0, q0 = model.screen_terms(idx, model.e[idx], self.phi0[idx])
            dp, dq = p - p0, q - q0
            cuboids = range(len(lat.cuboids))
        else:
            idx = lat.members(within)
            dp, dq = model.screen_terms(idx, *self.leaf_state(fit, idx))
            base = set(lat.cuboids[within[0]])
            cuboids = [c for c, cub in enumerate(lat.cuboids) if len(cub) > len(base) and base <= set(cub)]
        scored = []
        for c in cuboids:
            pen = self.pen_depth[int(lat.depth_of[c])]
            k = lat.n_slices(c)
            if within is None and 2 * len(idx) >= lat.n_leaves:  # most slices touched: all at once
                gain = model.screen_gain(np.bincount(lat.slice_of[c][idx], weights=dp, minlength=k) + self.p0[c],
                                         np.bincount(lat.slice_of[c][idx], weights=dq, minlength=k) + self.q0[c]) - pen
                slice_ids = None
            elif within is None:  # slices without covered leaves keep their gain under the null
                ids = lat.slice_of[c][idx]
                touched = np.bincount(ids, minlength=k) > 0
                pc = np.bincount(ids, weights=dp, minlength=k)[touched] + self.p0[c][touched]
                qc = np.bincount(ids, weights=dq, minlength=k)[touched] + self.q0[c][touched]
                gain = self._null_gain(c).copy()
                gain[touched] = model.screen_gain(pc, qc) - pen
                slice_ids = None
            else:  # only the slices holding leaves of `within`
                local, slice_ids = self._inside(within, c)
                n = len(slice_ids)
                gain = model.screen_gain(np.bincount(local, weights=dp, minlength=n),
                                         np.bincount(local, weights=dq, minlength=n)) - pen
            if slice_ids is None:
                for s in fit.selected:
                    gain[self.related_slices(s)[c]] = -np.inf
            elif fit.selected:
                blocked = np.zeros(k, dtype=bool)
                for s in fit.selected:
                    blocked[self.related_slices(s)[c]] = True
                gain[blocked[slice_ids]] = -np.inf
            n_top = min(self.n_screen, len(gain))
            top = np.argpartition(-gain, n_top - 1)[:n_top]
            names = top if slice_ids is None else slice_ids[top]
            scored += [(float(gain[j]), (c, int(name))) for j, name in zip(top, names) if gain[j] > 0]
        scored.sort(key=lambda t: -t[0])
        return [s for _, s in scored[: self.n_screen]]

    def _inside(self, within: SliceId, c: int) -> tuple[np.ndarray, np.ndarray]:
        """The slices of cuboid c holding leaves of `within` and, for each of its leaves, the index
        of its slice among them (a split screens inside one slice several times)."""
        hit = self._insides.get((within, c))
        if hit is None:
            slice_ids, local = _compress(self.lat.slice_of[c][self.lat.members(within)], self.lat.n_slices(c))
            hit = self._insides[(within, c)] = (local, slice_ids)
        return hit

    def _null_gain(self, c: int) -> np.ndarray:
        """Score-test gain less penalty of every slice of cuboid c under the null."""
        gain = self._null_gains.get(c)
        if gain is None:
            gain = self.model.screen_gain(self.p0[c], self.q0[c]) - self.pen_depth[int(self.lat.depth_of[c])]
            self._null_gains[c] = gain
        return gain

    # -- the search -----------------------------------------------------------------------------
    def admissible(self, selected: Sequence[SliceId]) -> bool:
        """False when the selection holds every child of one slice along one dimension: their
        parent is then the succinct answer (and the children's differences are its noise)."""
        lat = self.lat
        families: dict[tuple, int] = {}
        for s in selected:
            fs = lat.filters(s)
            if len(fs) < 2:
                continue
            for dim in fs:
                parent = tuple((k, v) for k, v in fs.items() if k != dim)
                families[(s[0], parent)] = families.get((s[0], parent), 0) + 1
        for (c, parent), count in families.items():
            if count >= 2:
                parent_id = lat.find(dict(parent))
                if parent_id is not None and count >= lat.n_children(c, parent_id):
                    return False
        return True

    def forward(self, fit: Fit, within: SliceId | None = None, limit: int | None = None) -> Fit:
        """Add the best screened slice while the penalized objective improves."""
        added = 0
        while len(fit.selected) < self.max_slices and (limit is None or added < limit):
            best = fit
            for cand in self.screen(fit, within=within):
                if not self.admissible(fit.selected + (cand,)):
                    continue
                trial = self.fit(fit.selected + (cand,))
                if self.total(trial) < self.total(best) - 1e-9:
                    best = trial
            if best is fit:
                break
            fit, added = best, added + 1
        return fit

    def _split(self, rest: tuple[SliceId, ...], s: SliceId) -> Fit:
        key = (frozenset(rest), s)
        hit = self._splits.get(key)
        if hit is None:
            hit = self.forward(self.fit(rest), within=s, limit=self.max_split)
            self._splits[key] = hit
        return hit

    def cheap_moves(self, fit: Fit) -> Iterator[Fit]:
        """Drop a slice; replace a slice (and its selected siblings) by a parent; replace a slice and
        the slices of one cuboid overlapping it by their intersections with it."""
        lat, sel = self.lat, fit.selected
        for s in sel:
            yield self.fit(tuple(t for t in sel if t != s))
            fs = lat.filters(s)
            if len(fs) >= 2:
                for dim in fs:
                    parent = lat.find({k: v for k, v in fs.items() if k != dim})
                    if parent is not None:
                        yield self.fit(tuple(t for t in sel if not lat.nested(parent, t)) + (parent,))
        for s in sel:  # s and the overlapping slices of one cuboid -> their intersections with s
            groups: dict[int, list[SliceId]] = {}
            for t in sel:
                if t != s and not lat.disjoint(s, t) and not lat.nested(s, t):
                    groups.setdefault(t[0], []).append(t)
            for group in groups.values():
                parts = [lat.find({**lat.filters(s), **lat.filters(t)}) for t in group]
                if all(x is not None for x in parts):
                    gone = {s, *group}
                    keep = tuple(u for u in sel if u not in gone and not any(lat.nested(x, u) for x in parts))
                    yield self.fit(keep + tuple(dict.fromkeys(parts)))

    def split_moves(self, fit: Fit) -> Iterator[Fit]:
        """Replace one slice by a few of its descendants (found by a forward pass inside it), for
        the slices inside which some descendant still deviates significantly from the fit."""
        deepest = max(self.lat.count_at_depth)
        for s in fit.selected:
            if len(self.lat.filters(s)) < deepest and self._heterogeneous(fit, s):
                yield self._split(tuple(t for t in fit.selected if t != s), s)

    def _heterogeneous(self, fit: Fit, s: SliceId) -> bool:
        """Does a descendant of s deviate from the fitted factor of s by more than its penalty?"""
        lat, model = self.lat, self.model
        idx = lat.members(s)
        p, q = model.screen_terms(idx, *self.leaf_state(fit, idx))
        base = set(lat.cuboids[s[0]])
        for c, cub in enumerate(lat.cuboids):
            if len(cub) > len(base) and base <= set(cub):
                local, _ = self._inside(s, c)
                gain = model.screen_gain(np.bincount(local, weights=p), np.bincount(local, weights=q))
                if gain.max(initial=0.0) > self.pen_depth[len(cub)]:
                    return True
        return False

    def run(self, start: Sequence[SliceId] = (), split: bool = True) -> Fit:
        """Forward selection from `start`, then local moves until none improves (without splitting
        a slice into descendants when `split` is False)."""
        fit = self.forward(self.fit(start))
        for _ in range(self.max_rounds):
            best = fit
            for moves in (self.cheap_moves, self.split_moves) if split else (self.cheap_moves,):
                for trial in moves(fit):
                    if self.total(trial) < self.total(best) - 1e-9 and self.admissible(trial.selected):
                        best = trial
                if best is not fit:
                    break
            if best is fit:
                break
            fit = self.forward(best)
        return fit

"""Deduplication: exact duplicates after normalisation, then near-duplicates with MinHash LSH (datasketch).

Each cluster keeps one problem, the one with the most chains (then the first read), and every member's audit
line names the cluster and the problem kept. An exact duplicate is the same problem written differently, so its
chains join the kept problem's; a near-duplicate may differ in a word, so its chains go with it.

Near-duplicates are problems with the same multiset of numbers **and** an estimated Jaccard similarity of their
token shingles (MinHash) at or above the threshold; problems built on one template with other numbers are never
clustered. Problems are first grouped by their numbers, so only problems that share all their numbers are ever
compared: a problem whose numbers no other problem has needs no signature at all. Within a group, small groups
are compared pair by pair; in large ones (problems without numbers, mostly) the candidates are the members of
each bucket of a datasketch LSH index.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from thinktrim.curate.base import StepContext
from thinktrim.curate.records import Problem
from thinktrim.curate.text import exact_key, numbers_key, shingles

LSH_WEIGHTS = (0.1, 0.9)  # (false positive, false negative) weights of datasketch's band/row choice
PAIRWISE_MAX = 64  # groups up to this size are compared pair by pair (exact, no LSH misses)


def representative(members: Sequence[Problem]) -> Problem:
    """The problem a cluster keeps: most chains, then first read (reproducible for a given pool)."""
    return min(members, key=lambda p: (-len(p.chains), p.order))


def _note(problem: Problem, kind: str, info: dict) -> None:
    problem.cluster = {**(problem.cluster or {}), kind: info}


@dataclass
class ExactDedup:
    """Problems whose normalised token sequences are equal (whitespace, LaTeX spacing, case, braces)."""

    name: str = "dedup-exact"

    def __call__(self, problems: Iterable[Problem], ctx: StepContext) -> Iterator[Problem]:
        groups: dict[str, list[Problem]] = {}
        for p in problems:
            groups.setdefault(exact_key(p.tokens), []).append(p)
        kept: list[Problem] = []
        for members in groups.values():
            keep = representative(members)
            kept.append(keep)
            if len(members) == 1:
                continue
            info = {"id": f"exact-{keep.key}", "kept": keep.key, "size": len(members)}
            _note(keep, "exact", info)
            for m in members:
                if m is keep:
                    continue
                _note(m, "exact", {**info, "chains_merged": len(m.chains)})
                keep.chains.extend(m.chains)
                ctx.count(self.name, "chains merged into the kept problem", len(m.chains))
                ctx.drop(m, self.name, "exact duplicate")
        yield from sorted(kept, key=lambda p: p.order)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def stable_hash(value: bytes) -> int:
    """A 32-bit hash that is the same in every process (Python's own `hash` of str is salted per process)."""
    return zlib.crc32(value)


@dataclass
class NearDedup:
    """MinHash LSH over `shingle_size`-token shingles; Jaccard ≥ `threshold` and equal numbers cluster."""

    threshold: float = 0.7
    shingle_size: int = 3
    num_perm: int = 128
    seed: int = 1
    name: str = "dedup-near"

    def signatures(self, problems: Sequence[Problem]) -> list:
        from datasketch import MinHash

        return MinHash.bulk([shingles(p.tokens, self.shingle_size) for p in problems], num_perm=self.num_perm,
                            seed=self.seed, hashfunc=stable_hash)

    def clusters(self, problems: Sequence[Problem], ctx: StepContext) -> tuple[list[list[int]], dict[int, object]]:
        """Indices of the problems in each cluster of two or more, and the signatures computed (by index)."""
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, p in enumerate(problems):
            if p.tokens:
                groups.setdefault(numbers_key(p.tokens), []).append(i)
        shared = [i for g in groups.values() if len(g) > 1 for i in g]
        ctx.count(self.name, "problems whose numbers no other problem has (not compared)",
                  sum(len(g) for g in groups.values() if len(g) == 1))
        sigs = dict(zip(shared, self.signatures([problems[i] for i in shared])))
        uf = _UnionFind(len(problems))
        params = None
        for group in groups.values():
            if 1 < len(group) <= PAIRWISE_MAX:
                for k, a in enumerate(group):
                    for b in group[k + 1 :]:
                        self._link(a, b, sigs, uf)
            elif len(group) > PAIRWISE_MAX:
                lsh = self._index(group, sigs, params)
                params = (lsh.b, lsh.r)  # datasketch's band choice integrates numerically: do it once
                for table in lsh.hashtables:
                    for bucket in table.keys():  # noqa: SIM118 (a datasketch storage, not a dict)
                        self._link_bucket(sorted(table.get(bucket)), sigs, uf)
        clusters: dict[int, list[int]] = {}
        for i in shared:
            clusters.setdefault(uf.find(i), []).append(i)
        return [c for c in clusters.values() if len(c) > 1], sigs

    def _link(self, a: int, b: int, sigs: dict, uf: _UnionFind) -> bool:
        """Union a and b if their estimated Jaccard reaches the threshold; whether they are together now."""
        if uf.find(a) == uf.find(b):
            return True
        if sigs[a].jaccard(sigs[b]) >= self.threshold:
            uf.union(a, b)
            return True
        return False

    def _link_bucket(self, members: list[int], sigs: dict, uf: _UnionFind) -> None:
        """Link the members of one LSH bucket: each to the first earlier anchor it is similar to, else it becomes
        an anchor. Linear in the bucket when its members are alike (a big cluster), unlike querying the index
        once per member, which returns the whole bucket each time."""
        anchors: list[int] = []
        for m in members:
            if not any(self._link(a, m, sigs, uf) for a in anchors):
                anchors.append(m)

    def _index(self, group: list[int], sigs: dict, params: tuple[int, int] | None):
        from datasketch import MinHashLSH

        # Candidates are confirmed by their estimated Jaccard, so the index is tuned against misses: with
        # datasketch's default (0.5, 0.5) weights a pair at J = 0.75 is a candidate only 2 times in 3.
        lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm, weights=LSH_WEIGHTS, params=params)
        with lsh.insertion_session() as session:
            for i in group:
                session.insert(i, sigs[i], check_duplication=False)
        return lsh

    def __call__(self, problems: Iterable[Problem], ctx: StepContext) -> Iterator[Problem]:
        items = list(problems)
        if not items:
            return
        groups, sigs = self.clusters(items, ctx)
        for group in groups:
            keep = representative([items[i] for i in group])
            keep_i = next(i for i in group if items[i] is keep)
            info = {"id": f"near-{keep.key}", "kept": keep.key, "size": len(group)}
            _note(keep, "near", info)
            for i in group:
                if i != keep_i:
                    _note(items[i], "near", {**info, "similarity": round(sigs[i].jaccard(sigs[keep_i]), 4)})
                    ctx.drop(items[i], self.name, "near duplicate")
        yield from (p for p in items if p.status == "kept")

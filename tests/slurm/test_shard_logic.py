"""`--shard i/N`: the N shards partition the prefixes (each in exactly one shard), whatever
order the ids come in, and every stage's shard i picks the same prefixes."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from motif_discovery.utils.shard import shard_ids

ids_strategy = st.lists(st.text(min_size=1, max_size=8), unique=True, max_size=40)


@given(ids=ids_strategy, count=st.integers(1, 12), seed=st.integers(0, 2**16))
def test_shards_partition_the_prefixes_in_any_order(ids, count, seed):
    shuffled = list(ids)
    random.Random(seed).shuffle(shuffled)
    shards = [shard_ids(ids, f"{i}/{count}") for i in range(count)]
    assert [shard_ids(shuffled, f"{i}/{count}") for i in range(count)] == shards
    seen = [unit for shard in shards for unit in shard]
    assert sorted(seen) == sorted(ids)  # every prefix once: none lost, none twice
    sizes = [len(shard) for shard in shards]
    assert max(sizes, default=0) - min(sizes, default=0) <= 1  # balanced by count
    # brute force: prefix k of the sorted ids goes to shard k mod N
    for rank, unit in enumerate(sorted(ids)):
        assert unit in shards[rank % count]

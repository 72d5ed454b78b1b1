using System.Collections.Concurrent;

namespace HttpCache.Engine;

/// <summary>
/// Answers worth remembering across calls (a primary key, parsed directives), at most <c>capacity</c> of them: past
/// that it forgets them all and starts again, which keeps a memo of a script's working set without an eviction order.
/// </summary>
internal sealed class BoundedMemo<TKey, TValue>(int capacity, IEqualityComparer<TKey>? comparer = null)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, TValue> values = new(comparer);

    // Counted here: a ConcurrentDictionary's Count takes every one of its locks, and it has hundreds once it holds
    // thousands of entries. Under concurrent callers the count may drift by a few, and the bound with it.
    private int count;

    /// <summary>How many answers are remembered now (takes every lock: for tests).</summary>
    public int Count => values.Count;

    public bool TryGet(TKey key, out TValue value) => values.TryGetValue(key, out value!);

    public void Remember(TKey key, TValue value)
    {
        if (Volatile.Read(ref count) >= capacity)
        {
            values.Clear();
            Volatile.Write(ref count, 0);
        }

        if (values.TryAdd(key, value))
        {
            Interlocked.Increment(ref count);
        }
    }
}

using System.Runtime.CompilerServices;

namespace HttpCache.Engine.Storage.Memory;

/// <summary>
/// A store that lives in this process only and is lost when it is disposed. It is the reference
/// implementation of <see cref="ICacheStore"/>: one lock around plain dictionaries, so every operation is
/// trivially atomic. Blobs are kept and handed out as the arrays given to <see cref="SetAsync"/>, not
/// copies: callers treat them as read-only.
/// </summary>
/// <remarks>
/// With <see cref="StoreLimits"/>, the store keeps its entries in least-recently-used order as well, so an
/// eviction costs O(log n); without limits that order is not kept at all. The entry just written is never
/// the one evicted for it: the write is its most recent use.
/// </remarks>
public sealed class MemoryCacheStore : ICacheStore
{
    private readonly object _gate = new();
    private readonly Dictionary<string, CacheRecord> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _keysByPrimaryKey = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _counters = new(StringComparer.Ordinal);
    private readonly StoreLimits? _limits;

    // Kept only when there are limits: the eviction order, least recently used first.
    private readonly SortedSet<(long LruTicks, string Key)>? _lru;
    private long _bytes;
    private bool _disposed;

    /// <summary>Creates an empty store.</summary>
    /// <param name="limits">Bounds the store keeps to by evicting least-recently-used entries; null or
    /// <see cref="StoreLimits.None"/>: unbounded.</param>
    /// <exception cref="ArgumentOutOfRangeException">A bound is below one.</exception>
    public MemoryCacheStore(StoreLimits? limits = null)
    {
        _limits = StoreLimitsRules.Normalize(limits, nameof(limits));
        if (_limits is not null)
        {
            _lru = new SortedSet<(long LruTicks, string Key)>(LruOrder.Instance);
        }
    }

    /// <inheritdoc />
    public string BackendName => "Memory";

    /// <inheritdoc />
    public string Location => "memory";

    /// <inheritdoc />
    public Task<IReadOnlyList<CacheRecord>> GetVariantsAsync(string primaryKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(primaryKey);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            if (!_keysByPrimaryKey.TryGetValue(primaryKey, out var keys))
            {
                return Task.FromResult<IReadOnlyList<CacheRecord>>([]);
            }

            var variants = new List<CacheRecord>(keys.Count);
            foreach (var key in keys)
            {
                variants.Add(_entries[key]);
            }

            return Task.FromResult<IReadOnlyList<CacheRecord>>(variants);
        }
    }

    /// <inheritdoc />
    public Task<CacheRecord?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            return Task.FromResult(_entries.GetValueOrDefault(key));
        }
    }

    /// <inheritdoc />
    public Task SetAsync(CacheRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        cancellationToken.ThrowIfCancellationRequested();
        // The size is the store's own measure, whatever the caller put in the record.
        var stored = Copy(record, record.HitCount, record.LastAccessedAt);
        lock (_gate)
        {
            ThrowIfDisposed();
            if (_entries.TryGetValue(stored.Key, out var previous))
            {
                Forget(previous);
            }

            if (_limits is not null && StoreLimitsRules.TooLargeAlone(_limits, stored.Size))
            {
                // The older version of the entry is gone too: the caller replaced it with something we cannot keep.
                return Task.CompletedTask;
            }

            _entries[stored.Key] = stored;
            if (!_keysByPrimaryKey.TryGetValue(stored.PrimaryKey, out var keys))
            {
                keys = new HashSet<string>(StringComparer.Ordinal);
                _keysByPrimaryKey.Add(stored.PrimaryKey, keys);
            }

            keys.Add(stored.Key);
            _bytes += stored.Size;
            if (_lru is not null)
            {
                _lru.Add(LruEntry(stored));
                EvictBeyondLimits(stored.Key);
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<int> RemoveAsync(CacheQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            var doomed = Candidates(query).Where(r => Matches(query, r)).ToList();
            foreach (var record in doomed)
            {
                Forget(record);
            }

            return Task.FromResult(doomed.Count);
        }
    }

    /// <inheritdoc />
    public Task<bool> UpdateExpirationAsync(string key, DateTimeOffset? expiresAt, DateTimeOffset? keepUntil, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            if (!_entries.TryGetValue(key, out var record))
            {
                return Task.FromResult(false);
            }

            _entries[key] = Copy(record, record.HitCount, record.LastAccessedAt, expiresAt, keepUntil);
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc />
    public IAsyncEnumerable<CacheRecordInfo> ListAsync(CacheQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        cancellationToken.ThrowIfCancellationRequested();
        List<CacheRecordInfo> snapshot;
        lock (_gate)
        {
            ThrowIfDisposed();
            snapshot = Candidates(query)
                .Where(r => Matches(query, r))
                .OrderBy(r => r.CreatedAt)
                .ThenBy(r => r.Key, StringComparer.Ordinal)
                .Select(InfoOf)
                .ToList();
        }

        return Yield(snapshot, cancellationToken);
    }

    /// <inheritdoc />
    public Task<StoreInventory> GetInventoryAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            long bytes = 0;
            DateTimeOffset? oldest = null, newest = null;
            foreach (var record in _entries.Values)
            {
                bytes += record.Size;
                if (oldest is null || record.CreatedAt < oldest)
                {
                    oldest = record.CreatedAt;
                }

                if (newest is null || record.CreatedAt > newest)
                {
                    newest = record.CreatedAt;
                }
            }

            return Task.FromResult(new StoreInventory(_entries.Count, bytes, oldest, newest));
        }
    }

    /// <inheritdoc />
    public Task AddCountersAsync(IReadOnlyDictionary<string, long> deltas, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            foreach (var (name, delta) in deltas)
            {
                _counters[name] = _counters.GetValueOrDefault(name) + delta;
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, long>> GetCountersAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            return Task.FromResult<IReadOnlyDictionary<string, long>>(new Dictionary<string, long>(_counters, StringComparer.Ordinal));
        }
    }

    /// <inheritdoc />
    public Task RecordAccessAsync(IReadOnlyCollection<EntryAccess> accesses, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(accesses);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            foreach (var access in accesses)
            {
                if (!_entries.TryGetValue(access.Key, out var record))
                {
                    continue;
                }

                var lastAccessedAt = record.LastAccessedAt is { } previous && previous > access.LastAccessedAt
                    ? previous
                    : access.LastAccessedAt;
                var updated = Copy(record, record.HitCount + access.Hits, lastAccessedAt);
                _entries[access.Key] = updated;
                if (_lru is not null)
                {
                    _lru.Remove(LruEntry(record));
                    _lru.Add(LruEntry(updated));
                }
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task ClearCountersAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ThrowIfDisposed();
            _counters.Clear();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposed = true;
            _entries.Clear();
            _keysByPrimaryKey.Clear();
            _counters.Clear();
            _lru?.Clear();
            _bytes = 0;
        }

        return ValueTask.CompletedTask;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    // Narrows the scan with the indexes when the query names a key; the filters still apply afterwards.
    private IEnumerable<CacheRecord> Candidates(CacheQuery query)
    {
        if (query.Key is not null)
        {
            return _entries.TryGetValue(query.Key, out var record) ? [record] : [];
        }

        if (query.PrimaryKey is not null)
        {
            return _keysByPrimaryKey.TryGetValue(query.PrimaryKey, out var keys)
                ? keys.Select(k => _entries[k])
                : [];
        }

        return _entries.Values;
    }

    private static bool Matches(CacheQuery query, CacheRecordInfo record) =>
        (query.Key is null || string.Equals(record.Key, query.Key, StringComparison.Ordinal))
        && (query.PrimaryKey is null || string.Equals(record.PrimaryKey, query.PrimaryKey, StringComparison.Ordinal))
        && (query.ExpiredAsOf is null || (record.ExpiresAt is { } expiresAt && expiresAt <= query.ExpiredAsOf))
        && (query.CreatedBefore is null || record.CreatedAt < query.CreatedBefore)
        && (query.CreatedAfter is null || record.CreatedAt > query.CreatedAfter)
        && (query.KeepUntilAsOf is null || (record.KeepUntil is { } keepUntil && keepUntil <= query.KeepUntilAsOf));

    // Takes an entry out of every structure that knows it (the caller holds the gate).
    private void Forget(CacheRecord record)
    {
        _entries.Remove(record.Key);
        Unindex(record);
        _bytes -= record.Size;
        _lru?.Remove(LruEntry(record));
    }

    // Called under the gate after a write: drops least-recently-used entries, never the one just written,
    // until the store is within its limits again, and counts them.
    private void EvictBeyondLimits(string writtenKey)
    {
        if (!StoreLimitsRules.IsOver(_limits!, _entries.Count, _bytes))
        {
            return;
        }

        var victims = new List<CacheRecord>();
        long entries = _entries.Count, bytes = _bytes;
        foreach (var (_, key) in _lru!)
        {
            if (!StoreLimitsRules.IsOver(_limits!, entries, bytes))
            {
                break;
            }

            if (string.Equals(key, writtenKey, StringComparison.Ordinal))
            {
                continue;
            }

            var victim = _entries[key];
            victims.Add(victim);
            entries--;
            bytes -= victim.Size;
        }

        // Removed after the walk: a SortedSet cannot change while it is enumerated.
        foreach (var victim in victims)
        {
            Forget(victim);
        }

        _counters[StoreLimitsRules.EvictionsCounter] = _counters.GetValueOrDefault(StoreLimitsRules.EvictionsCounter) + victims.Count;
    }

    private static (long LruTicks, string Key) LruEntry(CacheRecordInfo record) =>
        (StoreLimitsRules.LruTicks(record.LastAccessedAt, record.CreatedAt), record.Key);

    private void Unindex(CacheRecord record)
    {
        var keys = _keysByPrimaryKey[record.PrimaryKey];
        keys.Remove(record.Key);
        if (keys.Count == 0)
        {
            _keysByPrimaryKey.Remove(record.PrimaryKey);
        }
    }

    private static CacheRecord Copy(CacheRecord record, long hitCount, DateTimeOffset? lastAccessedAt) =>
        Copy(record, hitCount, lastAccessedAt, record.ExpiresAt, record.KeepUntil);

    private static CacheRecord Copy(
        CacheRecord record, long hitCount, DateTimeOffset? lastAccessedAt, DateTimeOffset? expiresAt, DateTimeOffset? keepUntil) =>
        new()
        {
            Key = record.Key,
            PrimaryKey = record.PrimaryKey,
            Method = record.Method,
            Uri = record.Uri,
            StatusCode = record.StatusCode,
            CreatedAt = record.CreatedAt,
            ExpiresAt = expiresAt,
            KeepUntil = keepUntil,
            Size = (long)record.Metadata.Length + record.Body.Length,
            HitCount = hitCount,
            LastAccessedAt = lastAccessedAt,
            Metadata = record.Metadata,
            Body = record.Body,
        };

    // A fresh info object, so a listing never carries the blobs (a CacheRecord would, behind its base type).
    private static CacheRecordInfo InfoOf(CacheRecord record) =>
        new()
        {
            Key = record.Key,
            PrimaryKey = record.PrimaryKey,
            Method = record.Method,
            Uri = record.Uri,
            StatusCode = record.StatusCode,
            CreatedAt = record.CreatedAt,
            ExpiresAt = record.ExpiresAt,
            KeepUntil = record.KeepUntil,
            Size = record.Size,
            HitCount = record.HitCount,
            LastAccessedAt = record.LastAccessedAt,
        };

    private sealed class LruOrder : IComparer<(long LruTicks, string Key)>
    {
        public static readonly LruOrder Instance = new();

        public int Compare((long LruTicks, string Key) x, (long LruTicks, string Key) y)
        {
            var byTime = x.LruTicks.CompareTo(y.LruTicks);
            return byTime != 0 ? byTime : string.CompareOrdinal(x.Key, y.Key);
        }
    }

    private static async IAsyncEnumerable<CacheRecordInfo> Yield(
        List<CacheRecordInfo> items, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var item in items)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return item;
        }
    }
}

namespace HttpCache.Engine.Storage;

/// <summary>
/// The storage contract every backend implements. Stores are safe for concurrent use from many threads;
/// persistent stores are also safe for several processes sharing one location. A store reports a
/// failure it cannot recover from (locked past its budget, unwritable, unreachable) as a
/// <see cref="CacheStoreException"/>; callers decide what that means for the request.
/// </summary>
public interface ICacheStore : IAsyncDisposable
{
    /// <summary>The backend's name: Memory, Sqlite, …</summary>
    string BackendName { get; }

    /// <summary>Where the data lives (a path, a server), for display.</summary>
    string Location { get; }

    /// <summary>Every variant stored under one primary key, with blobs. Empty when none.</summary>
    Task<IReadOnlyList<CacheRecord>> GetVariantsAsync(string primaryKey, CancellationToken cancellationToken = default);

    /// <summary>One entry with blobs, or null.</summary>
    Task<CacheRecord?> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Inserts or replaces the entry with the record's key. The store computes <see cref="CacheRecordInfo.Size"/>
    /// itself; HitCount and LastAccessedAt are stored as given.
    /// </summary>
    Task SetAsync(CacheRecord record, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes several entries, as <see cref="SetAsync"/> would one by one. Stores that can make it one
    /// transaction (SQLite) do, which is what lets queued writes keep up with a burst of misses.
    /// </summary>
    async Task SetManyAsync(IReadOnlyList<CacheRecord> records, CancellationToken cancellationToken = default)
    {
        foreach (var record in records)
        {
            await SetAsync(record, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Removes every entry the query matches; returns how many went.</summary>
    Task<int> RemoveAsync(CacheQuery query, CancellationToken cancellationToken = default);

    /// <summary>Sets new expiration clocks on one entry; false when it does not exist.</summary>
    Task<bool> UpdateExpirationAsync(string key, DateTimeOffset? expiresAt, DateTimeOffset? keepUntil, CancellationToken cancellationToken = default);

    /// <summary>Lists the entries the query matches, without blobs, ordered by (CreatedAt, Key).</summary>
    IAsyncEnumerable<CacheRecordInfo> ListAsync(CacheQuery query, CancellationToken cancellationToken = default);

    /// <summary>Entries, bytes, oldest and newest creation time.</summary>
    Task<StoreInventory> GetInventoryAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds to the persisted named counters (creating them at zero). Atomic per counter.</summary>
    Task AddCountersAsync(IReadOnlyDictionary<string, long> deltas, CancellationToken cancellationToken = default);

    /// <summary>The persisted counters, cumulative across every session and process using this store.</summary>
    Task<IReadOnlyDictionary<string, long>> GetCountersAsync(CancellationToken cancellationToken = default);

    /// <summary>Records accesses: adds hits and moves last-access forward. Missing keys are ignored.</summary>
    Task RecordAccessAsync(IReadOnlyCollection<EntryAccess> accesses, CancellationToken cancellationToken = default);

    /// <summary>Deletes the counters (the stats start again from zero).</summary>
    Task ClearCountersAsync(CancellationToken cancellationToken = default);
}

/// <summary>What kind of failure a <see cref="CacheStoreException"/> reports.</summary>
public enum CacheStoreFailure
{
    /// <summary>Anything else.</summary>
    Other,
    /// <summary>Locked by another writer past the retry budget.</summary>
    Locked,
    /// <summary>The location cannot be created or written (permissions, disk full, read-only).</summary>
    Unwritable,
    /// <summary>The data is not a cache of ours or is damaged beyond one entry.</summary>
    Corrupt,
    /// <summary>The server cannot be reached.</summary>
    Unavailable,
}

/// <summary>The store cannot do what was asked: locked past its retry budget, unwritable, unreachable, corrupt file.</summary>
public sealed class CacheStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CacheStoreException(string message, Exception? innerException = null, CacheStoreFailure failure = CacheStoreFailure.Other)
        : base(message, innerException) => Failure = failure;

    /// <summary>What kind of failure this is.</summary>
    public CacheStoreFailure Failure { get; }
}

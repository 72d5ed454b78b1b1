using System.Collections.Concurrent;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Memory;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// A store that fails on demand: reads, writes, or both throw <see cref="CacheStoreException"/> (the way a
/// locked or unreachable backend reports), everything else goes to an inner memory store.
/// </summary>
internal sealed class FailingStore : ICacheStore
{
    private readonly MemoryCacheStore inner = new();
    private int calls;

    public bool FailReads { get; set; }

    public bool FailWrites { get; set; }

    /// <summary>How many operations were attempted (failed or not).</summary>
    public int Calls => Volatile.Read(ref calls);

    public string BackendName => "Failing";

    public string Location => "nowhere";

    public Task<IReadOnlyList<CacheRecord>> GetVariantsAsync(string primaryKey, CancellationToken cancellationToken = default) =>
        Read(() => inner.GetVariantsAsync(primaryKey, cancellationToken));

    public Task<CacheRecord?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        Read(() => inner.GetAsync(key, cancellationToken));

    public Task SetAsync(CacheRecord record, CancellationToken cancellationToken = default) =>
        Write(() => inner.SetAsync(record, cancellationToken));

    /// <summary>While set, every batch of writes waits for it before it is written.</summary>
    public Task? HoldWrites { get; set; }

    /// <summary>How many records each batch of writes held, in order.</summary>
    public ConcurrentQueue<int> Batches { get; } = new();

    /// <summary>Called as each batch of writes starts, and again once it is no longer held.</summary>
    public Action? OnBatch { get; set; }

    public async Task SetManyAsync(IReadOnlyList<CacheRecord> records, CancellationToken cancellationToken = default)
    {
        Batches.Enqueue(records.Count);
        OnBatch?.Invoke();
        if (HoldWrites is { } hold)
        {
            await hold.WaitAsync(cancellationToken);
            OnBatch?.Invoke();
        }

        foreach (var record in records)
        {
            await SetAsync(record, cancellationToken);
        }
    }

    public Task<int> RemoveAsync(CacheQuery query, CancellationToken cancellationToken = default) =>
        Write(() => inner.RemoveAsync(query, cancellationToken));

    public Task<bool> UpdateExpirationAsync(string key, DateTimeOffset? expiresAt, DateTimeOffset? keepUntil, CancellationToken cancellationToken = default) =>
        Write(() => inner.UpdateExpirationAsync(key, expiresAt, keepUntil, cancellationToken));

    public IAsyncEnumerable<CacheRecordInfo> ListAsync(CacheQuery query, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref calls);
        return FailReads ? throw Failure("list") : inner.ListAsync(query, cancellationToken);
    }

    public Task<StoreInventory> GetInventoryAsync(CancellationToken cancellationToken = default) =>
        Read(() => inner.GetInventoryAsync(cancellationToken));

    public Task AddCountersAsync(IReadOnlyDictionary<string, long> deltas, CancellationToken cancellationToken = default) =>
        Write(() => inner.AddCountersAsync(deltas, cancellationToken));

    public Task<IReadOnlyDictionary<string, long>> GetCountersAsync(CancellationToken cancellationToken = default) =>
        Read(() => inner.GetCountersAsync(cancellationToken));

    public Task RecordAccessAsync(IReadOnlyCollection<EntryAccess> accesses, CancellationToken cancellationToken = default) =>
        Write(() => inner.RecordAccessAsync(accesses, cancellationToken));

    public Task ClearCountersAsync(CancellationToken cancellationToken = default) =>
        Write(() => inner.ClearCountersAsync(cancellationToken));

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private static CacheStoreException Failure(string what) => new($"The test store refuses to {what}.");

    /// <summary>Reads answer at once, as the Memory and SQLite stores do; a failing read then throws before any task exists.</summary>
    public bool ReadsAtOnce { get; set; }

    private Task<T> Read<T>(Func<Task<T>> operation)
    {
        if (!ReadsAtOnce)
        {
            return ReadLaterAsync(operation);
        }

        Interlocked.Increment(ref calls);
        return FailReads ? throw Failure("read") : operation();
    }

    private async Task<T> ReadLaterAsync<T>(Func<Task<T>> operation)
    {
        Interlocked.Increment(ref calls);
        await Task.Yield();
        return FailReads ? throw Failure("read") : await operation();
    }

    private async Task<T> Write<T>(Func<Task<T>> operation)
    {
        Interlocked.Increment(ref calls);
        await Task.Yield();
        return FailWrites ? throw Failure("write") : await operation();
    }

    private async Task Write(Func<Task> operation)
    {
        Interlocked.Increment(ref calls);
        await Task.Yield();
        if (FailWrites)
        {
            throw Failure("write");
        }

        await operation();
    }
}

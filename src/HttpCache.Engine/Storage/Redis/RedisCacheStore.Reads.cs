using StackExchange.Redis;

namespace HttpCache.Engine.Storage.Redis;

// Reads on the request path: the variants of one primary key in one script call, one entry by key, and turning
// hash fields back into records.
public sealed partial class RedisCacheStore
{
    /// <inheritdoc />
    /// <remarks>
    /// One script call. A caller that blocks on the answer anyway (<see cref="CallerWaits"/>) gets it on its own
    /// thread, as a completed task; every other caller awaits it.
    /// </remarks>
    public async Task<IReadOnlyList<CacheRecord>> GetVariantsAsync(string primaryKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(primaryKey);
        cancellationToken.ThrowIfCancellationRequested();
        var variants = _keys.Variants(primaryKey);
        EnsureUsable(variants);
        RedisKey[] keys = [variants];
        RedisValue[] arguments = [_keys.EntryPrefix(primaryKey), 1];
        RedisResult result;
        try
        {
            result = CallerWaits
                ? _db.ScriptEvaluate(RedisScripts.GetVariants, keys, arguments)
                : await _db.ScriptEvaluateAsync(RedisScripts.GetVariants, keys, arguments).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }

        var rows = (RedisResult[]?)result ?? [];
        if (rows.Length == 0)
        {
            return [];
        }

        var records = new CacheRecord[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            records[i] = ReadRecord((RedisValue[]?)rows[i] ?? []);
        }

        return records;
    }

    /// <inheritdoc />
    public async Task<CacheRecord?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();
        var index = _keys.Index(key);
        EnsureUsable(index);
        try
        {
            var primaryKey = await _db.StringGetAsync(index).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (primaryKey.IsNull)
            {
                return null;
            }

            var entry = _keys.Entry((string)primaryKey!, key);
            EnsureUsable(entry);
            var values = await _db.HashGetAsync(entry, RecordFields).WaitAsync(cancellationToken).ConfigureAwait(false);
            return values[0].IsNull ? null : ReadRecord(values);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }
    }

    /// <summary>
    /// True on a thread of the caller's own (not the thread pool's) with no synchronization context: PowerShell's
    /// pipeline thread, a console program's main thread. Such a caller blocks until the engine's task ends, so a read
    /// made there is waited for on the connection itself (StackExchange.Redis wakes the waiting thread when the answer
    /// arrives). Awaited instead, the answer wakes a thread-pool thread that runs the rest of the request and then
    /// wakes the blocked caller: two more thread hand-offs per hit, which on a busy machine cost more than the round
    /// trip. Thread-pool threads (ASP.NET, Task.Run) and threads with a context (UI threads) always await. The one
    /// cost: the caller's cancellation token is not observed during the read, which the command timeout bounds.
    /// </summary>
    private static bool CallerWaits => !Thread.CurrentThread.IsThreadPoolThread && SynchronizationContext.Current is null;

    private CacheRecordInfo ReadInfo(RedisValue[] values)
    {
        try
        {
            return new CacheRecordInfo
            {
                Key = (string)values[0]!,
                PrimaryKey = (string)values[1]!,
                Method = (string)values[2]!,
                Uri = (string)values[3]!,
                StatusCode = (int)values[4],
                CreatedAt = Time(values[5]) ?? throw new FormatException("no creation time"),
                ExpiresAt = Time(values[6]),
                KeepUntil = Time(values[7]),
                Size = (long)values[8],
                HitCount = (long)values[9],
                LastAccessedAt = Time(values[10]),
            };
        }
        catch (Exception ex) when (ex is FormatException or InvalidCastException or IndexOutOfRangeException or OverflowException)
        {
            throw Damaged(ex);
        }
    }

    private CacheRecord ReadRecord(RedisValue[] values)
    {
        var info = ReadInfo(values);
        try
        {
            return CacheRecord.From(
                info,
                (byte[]?)values[11] ?? throw new FormatException("no metadata"),
                (byte[]?)values[12] ?? throw new FormatException("no body"));
        }
        catch (Exception ex) when (ex is FormatException or InvalidCastException or IndexOutOfRangeException)
        {
            throw Damaged(ex);
        }
    }

    private CacheStoreException Damaged(Exception ex) => new(
        $"The Redis cache at {_endpoints} (namespace {_keys.Namespace}) holds an entry that is not an HTTP cache entry of this version: {ex.Message}",
        ex,
        CacheStoreFailure.Corrupt);
}

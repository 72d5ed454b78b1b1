using StackExchange.Redis;

namespace HttpCache.Engine.Storage.Redis;

// Reads on the request path: the variants of one primary key in one script call, one entry by key, and turning
// hash fields back into records.
public sealed partial class RedisCacheStore
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<CacheRecord>> GetVariantsAsync(string primaryKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(primaryKey);
        cancellationToken.ThrowIfCancellationRequested();
        var variants = _keys.Variants(primaryKey);
        EnsureUsable(variants);
        RedisResult result;
        try
        {
            result = await _db.ScriptEvaluateAsync(RedisScripts.GetVariants, [variants], [_keys.EntryPrefix(primaryKey), 1])
                .WaitAsync(cancellationToken).ConfigureAwait(false);
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
        try
        {
            return new CacheRecord
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
                Metadata = (byte[]?)values[11] ?? throw new FormatException("no metadata"),
                Body = (byte[]?)values[12] ?? throw new FormatException("no body"),
            };
        }
        catch (Exception ex) when (ex is FormatException or InvalidCastException or IndexOutOfRangeException or OverflowException)
        {
            throw Damaged(ex);
        }
    }

    private CacheStoreException Damaged(Exception ex) => new(
        $"The Redis cache at {_endpoints} (namespace {_keys.Namespace}) holds an entry that is not an HTTP cache entry of this version: {ex.Message}",
        ex,
        CacheStoreFailure.Corrupt);
}

using System.Runtime.CompilerServices;
using StackExchange.Redis;

namespace HttpCache.Engine.Storage.Redis;

// Listing and the inventory: by key or primary key directly, otherwise a SCAN of the namespace on every primary.
public sealed partial class RedisCacheStore
{
    /// <inheritdoc />
    /// <remarks>
    /// A listing by key or primary key reads those entries only; any other SCANs the namespace on every
    /// primary and sorts the matches in memory (without blobs).
    /// </remarks>
    public async IAsyncEnumerable<CacheRecordInfo> ListAsync(CacheQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        List<CacheRecordInfo> found;
        try
        {
            found = await FindAsync(query, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }

        found.Sort(static (a, b) =>
        {
            var byCreation = a.CreatedAt.UtcTicks.CompareTo(b.CreatedAt.UtcTicks);
            return byCreation != 0 ? byCreation : string.CompareOrdinal(a.Key, b.Key);
        });
        foreach (var info in found)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return info;
        }
    }

    /// <inheritdoc />
    /// <remarks>Counted by a SCAN of the namespace, so it agrees with what is there, TTLs included.</remarks>
    public async Task<StoreInventory> GetInventoryAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        List<CacheRecordInfo> all;
        try
        {
            all = await ScanAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }

        long bytes = 0;
        DateTimeOffset? oldest = null, newest = null;
        foreach (var info in all)
        {
            bytes += info.Size;
            if (oldest is null || info.CreatedAt < oldest)
            {
                oldest = info.CreatedAt;
            }

            if (newest is null || info.CreatedAt > newest)
            {
                newest = info.CreatedAt;
            }
        }

        return new StoreInventory(all.Count, bytes, oldest, newest);
    }

    private async Task<List<CacheRecordInfo>> FindAsync(CacheQuery query, CancellationToken cancellationToken)
    {
        List<CacheRecordInfo> candidates;
        if (query.Key is not null)
        {
            var index = _keys.Index(query.Key);
            EnsureUsable(index);
            var primaryKey = await _db.StringGetAsync(index).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (primaryKey.IsNull)
            {
                return [];
            }

            var entry = _keys.Entry((string)primaryKey!, query.Key);
            EnsureUsable(entry);
            var values = await _db.HashGetAsync(entry, InfoFields).WaitAsync(cancellationToken).ConfigureAwait(false);
            candidates = values[0].IsNull ? [] : [ReadInfo(values)];
        }
        else if (query.PrimaryKey is not null)
        {
            var variants = _keys.Variants(query.PrimaryKey);
            EnsureUsable(variants);
            var result = await _db.ScriptEvaluateAsync(RedisScripts.GetVariants, [variants], [_keys.EntryPrefix(query.PrimaryKey), 0])
                .WaitAsync(cancellationToken).ConfigureAwait(false);
            candidates = ((RedisResult[]?)result ?? []).Select(row => ReadInfo((RedisValue[]?)row ?? [])).ToList();
        }
        else
        {
            candidates = await ScanAsync(cancellationToken).ConfigureAwait(false);
        }

        candidates.RemoveAll(info => !Matches(query, info));
        return candidates;
    }

    // Every entry of the namespace, without blobs: SCAN on each primary, then HMGET in pipelined pages.
    private async Task<List<CacheRecordInfo>> ScanAsync(CancellationToken cancellationToken)
    {
        var infos = new List<CacheRecordInfo>();
        var seen = new HashSet<RedisKey>();
        var page = new List<RedisKey>(ScanPageSize);
        foreach (var server in Primaries())
        {
            await foreach (var key in server.KeysAsync(_db.Database, _keys.EntryPattern, ScanPageSize).WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                // A Cluster moving slots may show a key on two nodes.
                if (seen.Add(key))
                {
                    page.Add(key);
                }

                if (page.Count == ScanPageSize)
                {
                    await ReadPageAsync(page, infos, cancellationToken).ConfigureAwait(false);
                    page.Clear();
                }
            }
        }

        await ReadPageAsync(page, infos, cancellationToken).ConfigureAwait(false);
        return infos;
    }

    private async Task ReadPageAsync(List<RedisKey> page, List<CacheRecordInfo> infos, CancellationToken cancellationToken)
    {
        if (page.Count == 0)
        {
            return;
        }

        var rows = await Task.WhenAll(page.Select(key => _db.HashGetAsync(key, InfoFields))).WaitAsync(cancellationToken).ConfigureAwait(false);
        foreach (var values in rows)
        {
            // Gone (expired, removed) since the SCAN saw it.
            if (!values[0].IsNull)
            {
                infos.Add(ReadInfo(values));
            }
        }
    }

    private List<IServer> Primaries()
    {
        var primaries = _connection.GetServers().Where(s => !s.IsReplica).ToList();
        if (primaries.Count == 0 || primaries.Any(s => !s.IsConnected))
        {
            throw Unavailable();
        }

        return primaries;
    }

    private static bool Matches(CacheQuery query, CacheRecordInfo info) =>
        (query.Key is null || string.Equals(info.Key, query.Key, StringComparison.Ordinal))
        && (query.PrimaryKey is null || string.Equals(info.PrimaryKey, query.PrimaryKey, StringComparison.Ordinal))
        && (query.ExpiredAsOf is null || (info.ExpiresAt is { } expiresAt && expiresAt <= query.ExpiredAsOf))
        && (query.KeepUntilAsOf is null || (info.KeepUntil is { } keepUntil && keepUntil <= query.KeepUntilAsOf))
        && (query.CreatedBefore is null || info.CreatedAt < query.CreatedBefore)
        && (query.CreatedAfter is null || info.CreatedAt > query.CreatedAfter);
}

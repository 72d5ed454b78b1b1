using System.Globalization;

namespace HttpCache.Engine.Storage;

/// <summary>
/// What a store holds for one host (and port): the figures of <c>Get-HttpCacheStats -GroupBy Host</c>. The counters
/// are kept per store, not per host, so these come from the entries: their number, bytes and recorded hits.
/// </summary>
/// <param name="Host">The host as <see cref="EntryHost.Of"/> names it.</param>
/// <param name="Entries">Entries stored for the host (every Vary variant counts).</param>
/// <param name="Bytes">Bytes those entries take (their <see cref="CacheRecordInfo.Size"/>).</param>
/// <param name="Hits">The sum of their <see cref="CacheRecordInfo.HitCount"/>.</param>
/// <param name="Expired">Those whose fresh-until time is at or before the time asked about.</param>
/// <param name="Oldest">The earliest creation time, if any entry.</param>
/// <param name="Newest">The latest creation time, if any entry.</param>
/// <param name="LastAccessed">The latest last-access time of its entries, if one was ever served.</param>
public sealed record HostInventory(
    string Host, long Entries, long Bytes, long Hits, long Expired, DateTimeOffset? Oldest, DateTimeOffset? Newest, DateTimeOffset? LastAccessed)
{
    /// <summary>Groups listed entries by host, for a store that keeps no per-host figures of its own.</summary>
    public static IReadOnlyList<HostInventory> FromEntries(IEnumerable<CacheRecordInfo> entries, DateTimeOffset now)
    {
        var byHost = new Dictionary<string, HostInventory>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var host = EntryHost.Of(entry.Uri);
            var expired = entry.ExpiresAt is { } at && now >= at ? 1 : 0;
            byHost[host] = byHost.TryGetValue(host, out var sum)
                ? new HostInventory(
                    host,
                    sum.Entries + 1,
                    sum.Bytes + entry.Size,
                    sum.Hits + entry.HitCount,
                    sum.Expired + expired,
                    Earlier(sum.Oldest, entry.CreatedAt),
                    Later(sum.Newest, entry.CreatedAt),
                    Later(sum.LastAccessed, entry.LastAccessedAt))
                : new HostInventory(host, 1, entry.Size, entry.HitCount, expired, entry.CreatedAt, entry.CreatedAt, entry.LastAccessedAt);
        }

        return Sorted(byHost.Values);
    }

    /// <summary>In the order the cmdlet shows them: by host, ignoring case.</summary>
    public static IReadOnlyList<HostInventory> Sorted(IEnumerable<HostInventory> hosts) =>
        [.. hosts.OrderBy(h => h.Host, StringComparer.OrdinalIgnoreCase)];

    private static DateTimeOffset? Earlier(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : (a < b ? a : b);

    private static DateTimeOffset? Later(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : (a > b ? a : b);
}

/// <summary>
/// A store that keeps per-host figures itself (SQLite: running totals and indexes by host), so
/// <c>-GroupBy Host</c> reads a few index pages a host instead of every entry.
/// </summary>
public interface IHostIndexedStore : ICacheStore
{
    /// <summary>Every host with at least one entry, with its figures as of <paramref name="now"/> (for <see cref="HostInventory.Expired"/>).</summary>
    Task<IReadOnlyList<HostInventory>> GetHostInventoryAsync(DateTimeOffset now, CancellationToken cancellationToken = default);
}

/// <summary>The host an entry is grouped under.</summary>
public static class EntryHost
{
    /// <summary>The host of an entry's URI, lower case, with its port when it is not the scheme's default; "(unknown)" when the URI has none.</summary>
    public static string Of(string uri) =>
        Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && parsed.Host.Length > 0
            ? (parsed.IsDefaultPort ? parsed.Host : string.Create(CultureInfo.InvariantCulture, $"{parsed.Host}:{parsed.Port}")).ToLowerInvariant()
            : "(unknown)";
}

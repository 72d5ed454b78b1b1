using System.Management.Automation;
using HttpCache.Engine.Storage;

namespace HttpCache.Commands;

/// <summary>
/// The entry filters Get-HttpCacheEntry and Remove-HttpCacheEntry share: the store filters by key and
/// clocks; the -Uri wildcard (case-insensitive) is matched here, since stores know no patterns.
/// </summary>
internal sealed class EntryFilter
{
    private readonly WildcardPattern? uriPattern;

    public EntryFilter(string? uri, string? key, bool expired, TimeSpan? olderThan)
    {
        Uri = uri;
        Key = key;
        Expired = expired;
        OlderThan = olderThan;
        if (!string.IsNullOrEmpty(uri))
        {
            uriPattern = new WildcardPattern(uri, WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant);
        }
    }

    public string? Uri { get; }

    public string? Key { get; }

    public bool Expired { get; }

    public TimeSpan? OlderThan { get; }

    /// <summary>True when nothing narrows the selection.</summary>
    public bool IsEmpty => Uri is null && Key is null && !Expired && OlderThan is null;

    /// <summary>
    /// True when the filter names one thing literally (a key, or a URL without wildcards), so finding nothing
    /// is an error, as Get-Item's for a missing path; a wildcard that matches nothing is not.
    /// </summary>
    public bool IsLiteral => Key is not null || (Uri is not null && !WildcardPattern.ContainsWildcardCharacters(Uri));

    /// <summary>What the filter asks for, for messages and ShouldProcess targets.</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (Uri is not null)
        {
            parts.Add($"-Uri '{Uri}'");
        }

        if (Key is not null)
        {
            parts.Add($"-Key '{Key}'");
        }

        if (Expired)
        {
            parts.Add("-Expired");
        }

        if (OlderThan is { } age)
        {
            parts.Add($"-OlderThan {age}");
        }

        return parts.Count == 0 ? "every entry" : string.Join(" ", parts);
    }

    /// <summary>The entries of <paramref name="session"/> that match, oldest first.</summary>
    public IEnumerable<CacheEntry> Select(CacheSession session, EngineCall engine)
    {
        var now = session.Engine.Time.GetUtcNow();
        var query = new CacheQuery
        {
            Key = Key,
            ExpiredAsOf = Expired ? now : null,
            CreatedBefore = OlderThan is { } age ? now - age : null,
        };

        foreach (var record in engine.Enumerate(token => session.Engine.GetEntriesAsync(query, token)))
        {
            if (uriPattern is null || uriPattern.IsMatch(record.Uri))
            {
                yield return new CacheEntry(record, session);
            }
        }
    }
}

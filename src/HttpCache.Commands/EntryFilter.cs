using System.Globalization;
using System.Management.Automation;
using HttpCache.Engine.Storage;

namespace HttpCache.Commands;

/// <summary>
/// The entry filters Get-HttpCacheEntry and Remove-HttpCacheEntry share: the store filters by key and
/// clocks; the -Uri wildcard (case-insensitive), the methods and the status codes are matched here, since
/// stores know no patterns. Every filter given must match.
/// </summary>
internal sealed class EntryFilter
{
    private readonly WildcardPattern? uriPattern;
    private readonly HashSet<string>? methods;
    private readonly HashSet<int>? statusCodes;

    public EntryFilter(
        string? uri = null,
        string? key = null,
        bool expired = false,
        TimeSpan? olderThan = null,
        TimeSpan? newerThan = null,
        IEnumerable<string>? methods = null,
        IEnumerable<int>? statusCodes = null)
    {
        Uri = uri;
        Key = key;
        Expired = expired;
        OlderThan = olderThan;
        NewerThan = newerThan;
        if (!string.IsNullOrEmpty(uri))
        {
            uriPattern = new WildcardPattern(uri, WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant);
        }

        if (methods is not null)
        {
            this.methods = new HashSet<string>(methods.Select(m => m.Trim()), StringComparer.OrdinalIgnoreCase);
        }

        if (statusCodes is not null)
        {
            this.statusCodes = [.. statusCodes];
        }
    }

    public string? Uri { get; }

    public string? Key { get; }

    public bool Expired { get; }

    public TimeSpan? OlderThan { get; }

    public TimeSpan? NewerThan { get; }

    /// <summary>True when nothing narrows the selection.</summary>
    public bool IsEmpty => Uri is null && Key is null && !Expired && OlderThan is null && NewerThan is null && methods is null && statusCodes is null;

    /// <summary>
    /// True when the filter names one thing literally (a key, or a URL without wildcards) and nothing else, so
    /// finding nothing is an error, as Get-Item's for a missing path. A wildcard that matches nothing is not,
    /// nor is a named entry that the other filters (-Expired, -OlderThan, -Method…) leave out.
    /// </summary>
    public bool IsLiteral =>
        (Key is not null || (Uri is not null && !WildcardPattern.ContainsWildcardCharacters(Uri)))
        && !Expired && OlderThan is null && NewerThan is null && methods is null && statusCodes is null;

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

        if (methods is not null)
        {
            parts.Add("-Method " + string.Join(",", methods.Order(StringComparer.OrdinalIgnoreCase)));
        }

        if (statusCodes is not null)
        {
            parts.Add("-StatusCode " + string.Join(",", statusCodes.Order().Select(s => s.ToString(CultureInfo.InvariantCulture))));
        }

        if (Expired)
        {
            parts.Add("-Expired");
        }

        if (OlderThan is { } older)
        {
            parts.Add($"-OlderThan {older}");
        }

        if (NewerThan is { } newer)
        {
            parts.Add($"-NewerThan {newer}");
        }

        return parts.Count == 0 ? "every entry" : string.Join(" ", parts);
    }

    /// <summary>True when the entry passes the filters matched here (the store applies the rest).</summary>
    public bool Matches(CacheRecordInfo record) =>
        (uriPattern is null || uriPattern.IsMatch(record.Uri))
        && (methods is null || methods.Contains(record.Method))
        && (statusCodes is null || statusCodes.Contains(record.StatusCode));

    /// <summary>The entries of <paramref name="session"/> that match, oldest first.</summary>
    public IEnumerable<CacheEntry> Select(CacheSession session, EngineCall engine)
    {
        var now = session.Engine.Time.GetUtcNow();
        var (exact, prefix) = UriNarrowing(Uri);
        var query = new CacheQuery
        {
            Key = Key,
            ExpiredAsOf = Expired ? now : null,
            CreatedBefore = OlderThan is { } older ? Ago(now, older) : null,
            CreatedAfter = NewerThan is { } newer ? Ago(now, newer) : null,
            Uri = exact,
            UriPrefix = prefix,
        };

        foreach (var record in engine.Enumerate(token => session.Engine.GetEntriesAsync(query, token)))
        {
            if (Matches(record))
            {
                yield return new CacheEntry(record, session);
            }
        }
    }

    /// <summary>
    /// What the store can be asked for so that it need not list every entry (SQLite answers from an index): the
    /// URI itself when the pattern has no wildcard, else the literal text before its first wildcard. The store
    /// compares ASCII letters without case and everything else exactly, where the pattern ignores case everywhere,
    /// so the narrowing stops at the first non-ASCII character: it may let through more than the pattern
    /// matches (the pattern is still applied), never less. A prefix shorter than "scheme://h" narrows too little
    /// to pay for the sort the index then needs, so the store lists everything instead.
    /// </summary>
    internal static (string? Exact, string? Prefix) UriNarrowing(string? pattern)
    {
        if (string.IsNullOrEmpty(pattern))
        {
            return (null, null);
        }

        var literal = new System.Text.StringBuilder();
        var complete = true;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '`' && i + 1 < pattern.Length)
            {
                c = pattern[++i];
            }
            else if (c is '*' or '?' or '[' or ']')
            {
                complete = false;
                break;
            }

            if (!char.IsAscii(c))
            {
                complete = false;
                break;
            }

            literal.Append(c);
        }

        var text = literal.ToString();
        if (complete)
        {
            return (text, null);
        }

        var scheme = text.IndexOf("://", StringComparison.Ordinal);
        return scheme > 0 && text.Length > scheme + 3 ? (null, text) : (null, null);
    }

    /// <summary><paramref name="now"/> minus <paramref name="span"/>, or the earliest instant when that is before it.</summary>
    private static DateTimeOffset Ago(DateTimeOffset now, TimeSpan span) =>
        span.Ticks > now.UtcTicks - DateTimeOffset.MinValue.UtcTicks ? DateTimeOffset.MinValue : now - span;
}

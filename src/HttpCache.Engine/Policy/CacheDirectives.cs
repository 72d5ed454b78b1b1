using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace HttpCache.Engine.Policy;

/// <summary>
/// Cache-Control directives, read as RFC 9111 §5.2 asks. <see cref="CacheControlHeaderValue"/> is not
/// enough here: one malformed directive makes it drop the whole field (so <c>no-store, max-age=abc</c>
/// would lose its no-store), it refuses quoted values (<c>max-age="60"</c>, which §5.2 says to accept),
/// and keeps the last of duplicated directives where §4.2.1 asks for the first or for staleness.
/// </summary>
public sealed class CacheDirectives
{
    /// <summary>The value §1.2.2 says to use for a delta-seconds too large to represent: 2^31 seconds.</summary>
    public static readonly TimeSpan MaxDelta = TimeSpan.FromSeconds(2147483648);

    /// <summary>No directives.</summary>
    public static CacheDirectives Empty { get; } = new([]);

    private readonly List<KeyValuePair<string, string?>> directives;

    private CacheDirectives(List<KeyValuePair<string, string?>> directives) => this.directives = directives;

    /// <summary>The directives of a message's Cache-Control field lines, unvalidated.</summary>
    public static CacheDirectives From(HttpHeaders headers) =>
        headers.NonValidated.TryGetValues("Cache-Control", out var values) ? Parse(values) : Empty;

    /// <summary>Parses field values (several lines are one list, §5.2).</summary>
    public static CacheDirectives Parse(IEnumerable<string> fieldValues)
    {
        var list = new List<KeyValuePair<string, string?>>();
        foreach (var field in fieldValues)
        {
            ParseInto(field, list);
        }

        return list.Count == 0 ? Empty : new CacheDirectives(list);
    }

    /// <summary>Directives already parsed by another grammar (a targeted field's, <see cref="TargetedCacheControl"/>).</summary>
    internal static CacheDirectives FromPairs(List<KeyValuePair<string, string?>> directives) => new(directives);

    /// <summary>Parses one field value.</summary>
    public static CacheDirectives Parse(string? fieldValue) => fieldValue is null ? Empty : Parse([fieldValue]);

    /// <summary>Field values parsed before, 256 at most.</summary>
    private static readonly BoundedMemo<string, CacheDirectives> RememberedValues = new(256, StringComparer.Ordinal);

    /// <summary>
    /// Parses one field value, remembering the answer (directives are immutable): a store's entries carry a handful of
    /// distinct Cache-Control values, and every hit reads its entry's.
    /// </summary>
    internal static CacheDirectives Remembered(string? fieldValue)
    {
        if (fieldValue is null)
        {
            return Empty;
        }

        if (!RememberedValues.TryGet(fieldValue, out var directives))
        {
            directives = Parse(fieldValue);
            RememberedValues.Remember(fieldValue, directives);
        }

        return directives;
    }

    /// <summary>True when the directive is present (names are case-insensitive).</summary>
    public bool Has(string name) => directives.Exists(d => string.Equals(d.Key, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The first occurrence's argument, unquoted; null when absent or argument-less.</summary>
    public string? Value(string name)
    {
        foreach (var (key, value) in directives)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>
    /// A delta-seconds directive. Null when absent. A malformed, negative or conflicting one (two
    /// occurrences with different values) is zero: §4.2.1 allows treating the response as stale, the
    /// safe reading for every directive that uses this. Too large a value is 2^31 seconds (§1.2.2).
    /// </summary>
    public TimeSpan? Seconds(string name)
    {
        string? first = null;
        var seen = false;
        foreach (var (key, value) in directives)
        {
            if (!string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!seen)
            {
                first = value;
                seen = true;
            }
            else if (!string.Equals(first, value, StringComparison.Ordinal))
            {
                return TimeSpan.Zero;
            }
        }

        if (!seen)
        {
            return null;
        }

        if (string.IsNullOrEmpty(first) || !first.All(char.IsAsciiDigit))
        {
            return TimeSpan.Zero;
        }

        return long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds < 2147483648
            ? TimeSpan.FromSeconds(seconds)
            : MaxDelta;
    }

    /// <summary>no-store (§5.2.1.5, §5.2.2.5).</summary>
    public bool NoStore => Has("no-store");

    /// <summary>
    /// Unqualified no-cache (§5.2.1.4, §5.2.2.4): validate before every use. A qualified one
    /// (<c>no-cache="Set-Cookie"</c>) is <see cref="NoCacheFields"/>; an empty list counts as unqualified.
    /// </summary>
    public bool NoCache => Unqualified("no-cache");

    /// <summary>The fields a qualified no-cache names (§5.2.2.4): the rest of the answer may be reused without validation.</summary>
    public IReadOnlyList<string> NoCacheFields => Qualified("no-cache");

    /// <summary>Unqualified private (§5.2.2.7): the whole answer is for one user. An empty list counts as unqualified.</summary>
    public bool Private => Unqualified("private");

    /// <summary>The fields a qualified private names (§5.2.2.7): a shared cache may store the rest.</summary>
    public IReadOnlyList<string> PrivateFields => Qualified("private");

    /// <summary>public (§5.2.2.9).</summary>
    public bool Public => Has("public");

    /// <summary>must-revalidate (§5.2.2.2).</summary>
    public bool MustRevalidate => Has("must-revalidate");

    /// <summary>proxy-revalidate (§5.2.2.8).</summary>
    public bool ProxyRevalidate => Has("proxy-revalidate");

    /// <summary>must-understand (§5.2.2.3).</summary>
    public bool MustUnderstand => Has("must-understand");

    /// <summary>immutable (RFC 8246).</summary>
    public bool Immutable => Has("immutable");

    /// <summary>only-if-cached (§5.2.1.7).</summary>
    public bool OnlyIfCached => Has("only-if-cached");

    /// <summary>max-age (§5.2.1.1, §5.2.2.1).</summary>
    public TimeSpan? MaxAge => Seconds("max-age");

    /// <summary>s-maxage (§5.2.2.10).</summary>
    public TimeSpan? SharedMaxAge => Seconds("s-maxage");

    /// <summary>min-fresh (§5.2.1.3).</summary>
    public TimeSpan? MinFresh => Seconds("min-fresh");

    /// <summary>max-stale is present (§5.2.1.2).</summary>
    public bool MaxStale => Has("max-stale");

    /// <summary>max-stale's limit; null when it has none (any staleness is accepted).</summary>
    public TimeSpan? MaxStaleLimit => Value("max-stale") is null ? null : Seconds("max-stale");

    /// <summary>stale-if-error (RFC 5861 §4).</summary>
    public TimeSpan? StaleIfError => Seconds("stale-if-error");

    /// <summary>stale-while-revalidate (RFC 5861 §3).</summary>
    public TimeSpan? StaleWhileRevalidate => Seconds("stale-while-revalidate");

    private bool Unqualified(string name) =>
        directives.Exists(d => string.Equals(d.Key, name, StringComparison.OrdinalIgnoreCase) && string.IsNullOrWhiteSpace(d.Value));

    private List<string> Qualified(string name) =>
        directives
            .Where(d => string.Equals(d.Key, name, StringComparison.OrdinalIgnoreCase) && !string.IsNullOrWhiteSpace(d.Value))
            .SelectMany(d => d.Value!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .ToList();

    private static void ParseInto(string field, List<KeyValuePair<string, string?>> into)
    {
        var i = 0;
        while (i < field.Length)
        {
            while (i < field.Length && (field[i] == ',' || char.IsWhiteSpace(field[i])))
            {
                i++;
            }

            var nameStart = i;
            while (i < field.Length && field[i] != '=' && field[i] != ',' && !char.IsWhiteSpace(field[i]))
            {
                i++;
            }

            var name = field[nameStart..i];
            while (i < field.Length && char.IsWhiteSpace(field[i]) && field[i] != ',')
            {
                i++;
            }

            string? value = null;
            if (i < field.Length && field[i] == '=')
            {
                i++;
                while (i < field.Length && char.IsWhiteSpace(field[i]))
                {
                    i++;
                }

                if (i < field.Length && field[i] == '"')
                {
                    var builder = new StringBuilder();
                    i++;
                    while (i < field.Length && field[i] != '"')
                    {
                        // quoted-pair (RFC 9110 §5.6.4)
                        if (field[i] == '\\' && i + 1 < field.Length)
                        {
                            i++;
                        }

                        builder.Append(field[i]);
                        i++;
                    }

                    i++;
                    value = builder.ToString();
                }
                else
                {
                    var valueStart = i;
                    while (i < field.Length && field[i] != ',')
                    {
                        i++;
                    }

                    value = field[valueStart..i].Trim();
                }
            }

            while (i < field.Length && field[i] != ',')
            {
                i++;
            }

            if (name.Length > 0)
            {
                into.Add(new(name, value));
            }
        }
    }
}

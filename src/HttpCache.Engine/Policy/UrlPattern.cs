using System.Text;
using System.Text.RegularExpressions;

namespace HttpCache.Engine.Policy;

/// <summary>
/// A URL pattern for per-URL expiration, as requests-cache defines them. A glob matches the URL without
/// its scheme and is a prefix match (<c>site.com/resource/</c> covers <c>http*://site.com/resource/**</c>;
/// <c>*.site.com</c> covers subdomains); <c>*</c> matches any run of characters, <c>/</c> included,
/// <c>?</c> one character, <c>[abc]</c> a set. A regex is searched for in the whole URL, scheme
/// included. Both ignore case.
/// </summary>
public sealed class UrlPattern
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(100);
    private readonly Regex regex;
    private readonly bool schemeless;

    private UrlPattern(string text, Regex regex, bool schemeless)
    {
        Text = text;
        this.regex = regex;
        this.schemeless = schemeless;
    }

    /// <summary>The pattern as given.</summary>
    public string Text { get; }

    /// <summary>True for a regex pattern.</summary>
    public bool IsRegex => !schemeless;

    /// <summary>A glob pattern. Throws <see cref="ArgumentException"/> for an empty one.</summary>
    public static UrlPattern Glob(string glob)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(glob);
        var body = glob.Trim();
        var schemeEnd = body.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd >= 0)
        {
            body = body[(schemeEnd + 3)..];
        }

        var builder = new StringBuilder("^");
        for (var i = 0; i < body.Length; i++)
        {
            var c = body[i];
            switch (c)
            {
                case '*':
                    builder.Append(".*");
                    break;
                case '?':
                    builder.Append('.');
                    break;
                case '[':
                    var close = body.IndexOf(']', i + 2);
                    if (close < 0)
                    {
                        builder.Append(@"\[");
                        break;
                    }

                    var set = body[(i + 1)..close];
                    builder.Append('[').Append(set.StartsWith('!') ? "^" + Regex.Escape(set[1..]) : Regex.Escape(set)).Append(']');
                    i = close;
                    break;
                default:
                    builder.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }

        // A prefix match, as requests-cache appends "**".
        builder.Append(".*$");
        return new UrlPattern(glob, new Regex(builder.ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline, MatchTimeout), schemeless: true);
    }

    /// <summary>A regex pattern, searched for in the whole URL. Throws <see cref="ArgumentException"/> when it does not parse.</summary>
    public static UrlPattern FromRegex(string pattern)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        return new UrlPattern(pattern, new Regex(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, MatchTimeout), schemeless: false);
    }

    /// <summary>A regex pattern from an existing <see cref="Regex"/> (its options kept, a match timeout added).</summary>
    public static UrlPattern FromRegex(Regex regex)
    {
        ArgumentNullException.ThrowIfNull(regex);
        return new UrlPattern(regex.ToString(), new Regex(regex.ToString(), regex.Options, MatchTimeout), schemeless: false);
    }

    /// <summary>True when the URL matches. A regex that runs too long counts as no match.</summary>
    public bool IsMatch(Uri url)
    {
        var text = url.AbsoluteUri;
        if (schemeless)
        {
            text = text[(text.IndexOf("://", StringComparison.Ordinal) + 3)..];
        }

        try
        {
            return regex.IsMatch(text);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public override string ToString() => IsRegex ? $"regex {Text}" : Text;
}

/// <summary>One per-URL expiration rule.</summary>
public sealed record UrlExpiration(UrlPattern Pattern, Expiration Expiration);

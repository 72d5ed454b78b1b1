using System.Text;

namespace HttpCache.Engine.Policy;

/// <summary>
/// Targeted cache-control fields (RFC 9213), such as <c>CDN-Cache-Control</c>: the Cache-Control directives
/// as a Structured Field Dictionary (RFC 8941 §3.2), parsed by that stricter grammar, not Cache-Control's.
/// "When a cache that implements this specification receives a response with one or more of the header
/// field names on its target list, the cache MUST select the first (in target list order) field with a
/// valid, non-empty value and use its value to determine the caching policy for the response, and MUST
/// ignore the Cache-Control and Expires header fields in that response, unless no valid, non-empty value is
/// available from the listed header fields." (§2.1)
/// </summary>
public static class TargetedCacheControl
{
    /// <summary>The field RFC 9213 defines for CDN caches, and the default target of a shared session.</summary>
    public const string CdnCacheControl = "CDN-Cache-Control";

    /// <summary>
    /// The directives of a targeted field's lines, or null when the field is absent, empty or not a valid
    /// Dictionary (then Cache-Control and Expires apply). Integers and tokens become the directive's
    /// argument, strings their content, <c>?1</c> a bare directive; a <c>?0</c> directive is absent.
    /// Parameters are ignored (RFC 9213 §2.1 defines none).
    /// </summary>
    public static CacheDirectives? Parse(IReadOnlyList<string>? lines)
    {
        if (lines is null)
        {
            return null;
        }

        // RFC 8941 §4.2: several lines are combined with commas before parsing.
        var input = string.Join(",", lines);
        var members = new List<KeyValuePair<string, string?>>();
        var i = SkipSpaces(input, 0);
        while (i < input.Length)
        {
            if (!Key(input, ref i, out var key))
            {
                return null;
            }

            string? value = null;
            var present = true;
            if (i < input.Length && input[i] == '=')
            {
                i++;
                if (!BareItem(input, ref i, out value, out present))
                {
                    return null;
                }
            }

            while (i < input.Length && input[i] == ';')
            {
                i = SkipSpaces(input, i + 1, spacesOnly: true);
                if (!Key(input, ref i, out _))
                {
                    return null;
                }

                if (i < input.Length && input[i] == '=')
                {
                    i++;
                    if (!BareItem(input, ref i, out _, out _))
                    {
                        return null;
                    }
                }
            }

            // A later member of the same name replaces an earlier one (RFC 8941 §4.2.2).
            members.RemoveAll(m => m.Key == key);
            if (present)
            {
                members.Add(new(key, value));
            }

            i = SkipSpaces(input, i);
            if (i == input.Length)
            {
                break;
            }

            if (input[i] != ',')
            {
                return null;
            }

            i = SkipSpaces(input, i + 1);
            if (i == input.Length)
            {
                return null; // a trailing comma
            }
        }

        return members.Count == 0 ? null : CacheDirectives.FromPairs(members);
    }

    private static int SkipSpaces(string s, int i, bool spacesOnly = false)
    {
        while (i < s.Length && (s[i] == ' ' || (!spacesOnly && s[i] == '\t')))
        {
            i++;
        }

        return i;
    }

    /// <summary>key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )</summary>
    private static bool Key(string s, ref int i, out string key)
    {
        var start = i;
        if (i >= s.Length || !(char.IsAsciiLetterLower(s[i]) || s[i] == '*'))
        {
            key = string.Empty;
            return false;
        }

        while (i < s.Length && (char.IsAsciiLetterLower(s[i]) || char.IsAsciiDigit(s[i]) || s[i] is '_' or '-' or '.' or '*'))
        {
            i++;
        }

        key = s[start..i];
        return true;
    }

    /// <summary>An Integer, Decimal, String, Token, Byte Sequence or Boolean (RFC 8941 §4.2.3.1).</summary>
    private static bool BareItem(string s, ref int i, out string? value, out bool present)
    {
        value = null;
        present = true;
        if (i >= s.Length)
        {
            return false;
        }

        var c = s[i];
        if (c == '-' || char.IsAsciiDigit(c))
        {
            var start = i;
            i++;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }

            value = s[start..i];
            var digits = value.TrimStart('-');
            var dot = digits.IndexOf('.', StringComparison.Ordinal);
            return digits.Length > 0 && char.IsAsciiDigit(digits[0])
                && (dot < 0 ? digits.Length <= 15 : dot <= 12 && digits.Length - dot - 1 is >= 1 and <= 3 && digits.IndexOf('.', dot + 1) < 0);
        }

        if (c == '"')
        {
            var builder = new StringBuilder();
            i++;
            while (i < s.Length)
            {
                var ch = s[i++];
                if (ch == '\\')
                {
                    if (i >= s.Length || s[i] is not ('"' or '\\'))
                    {
                        return false;
                    }

                    builder.Append(s[i++]);
                }
                else if (ch == '"')
                {
                    value = builder.ToString();
                    return true;
                }
                else if (ch < 0x20 || ch > 0x7e)
                {
                    return false;
                }
                else
                {
                    builder.Append(ch);
                }
            }

            return false;
        }

        if (char.IsAsciiLetter(c) || c == '*')
        {
            var start = i;
            i++;
            while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || ":/!#$%&'*+-.^_`|~".Contains(s[i], StringComparison.Ordinal)))
            {
                i++;
            }

            value = s[start..i];
            return true;
        }

        if (c == '?')
        {
            if (i + 1 >= s.Length || s[i + 1] is not ('0' or '1'))
            {
                return false;
            }

            present = s[i + 1] == '1';
            i += 2;
            return true;
        }

        if (c == ':')
        {
            var close = s.IndexOf(':', i + 1);
            if (close < 0)
            {
                return false;
            }

            value = s[(i + 1)..close];
            i = close + 1;
            return value.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '+' or '/' or '=');
        }

        return false;
    }
}

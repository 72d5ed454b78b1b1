using System.Runtime.CompilerServices;
namespace HttpCache.Engine.Policy;

/// <summary>Which stored variant answers a request (RFC 9111 §4.1), and the request-header pairs stored with each.</summary>
public static partial class CachePolicy
{
    /// <summary>
    /// The variant whose stored request-header pairs match this request, or null: the headers its Vary
    /// names (RFC 9111 §4.1), the session's match headers, and the credentials it was stored for — a
    /// request with credentials never matches an answer stored for other credentials or for none.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static StoredResponse? SelectVariant(IReadOnlyList<StoredResponse> variants, HttpRequestMessage request, CacheSettings? settings = null)
    {
        settings ??= CacheSettings.Default;
        StoredResponse? best = null;
        foreach (var variant in variants)
        {
            var vary = variant.GetJoinedHeader("Vary");
            if (vary is not null && VaryNames(vary).Contains("*"))
            {
                continue;
            }

            var matches = true;
            foreach (var (name, value) in variant.VaryValues)
            {
                if (!string.Equals(KeyedValue(request, name, settings), value, StringComparison.Ordinal))
                {
                    matches = false;
                    break;
                }
            }

            foreach (var credential in SecretHeaders(request, settings))
            {
                if (matches && !variant.VaryValues.Any(v => string.Equals(v.Key, credential, StringComparison.OrdinalIgnoreCase)))
                {
                    matches = false;
                }
            }

            // §4: with several matches, the most recent one is used.
            if (matches && (best is null || variant.ResponseTime > best.ResponseTime))
            {
                best = variant;
            }
        }

        return best;
    }

    /// <summary>
    /// The secret headers (the settings' secret names, less those excluded from the key) this request carries
    /// with a value, and the caller identity (<see cref="CacheRequestOptions.CallerName"/>: handler-level
    /// credentials, client certificates) when it has one: each keys the answer by its digest, so requests with
    /// other values, or none, never share it.
    /// </summary>
    public static IEnumerable<string> SecretHeaders(HttpRequestMessage request, CacheSettings settings)
    {
        foreach (var (name, _) in request.Headers.NonValidated)
        {
            if (settings.IsKeyedSecret(name) && RequestHeaderValue(request, name).Length != 0)
            {
                yield return name;
            }
        }

        if (request.Options.TryGetValue(CacheRequestOptions.CallerKey, out var caller) && caller.Length != 0)
        {
            yield return CacheRequestOptions.CallerName;
        }
    }

    /// <summary>The pseudo-header under which all request headers are matched at once (-MatchHeaders $true).</summary>
    public const string AllHeadersName = "*headers";

    /// <summary>
    /// A request header's value as keys and variants see it: secrets (and excluded names a Vary still lists) as
    /// a keyed digest, never in clear; <see cref="AllHeadersName"/> as a digest of every other header.
    /// </summary>
    public static string KeyedValue(HttpRequestMessage request, string name, CacheSettings settings)
    {
        if (name == AllHeadersName)
        {
            // Secrets are keyed one by one (SecretHeaders); excluded names not at all.
            var all = request.Headers.NonValidated
                .Where(h => !settings.IsRedacted(h.Key))
                .OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase)
                .Select(h => h.Key.ToLowerInvariant() + ":" + string.Join(", ", h.Value));
            return Http.CacheKey.SecretDigest(string.Join("\n", all), settings.KeySecret);
        }

        var value = RequestHeaderValue(request, name);
        var secret = settings.IsRedacted(name) || name == CacheRequestOptions.CallerName;
        return secret && value.Length != 0 ? Http.CacheKey.SecretDigest(value, settings.KeySecret) : value;
    }

    /// <summary>The header names a Vary value lists, trimmed.</summary>
    public static IReadOnlyList<string> VaryNames(string vary) =>
        vary.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The names the response's Vary lines list, read raw.</summary>
    public static IReadOnlyList<string> ResponseVary(HttpResponseMessage response) =>
        HttpFields.Lines(response, "Vary") is { } lines ? VaryNames(string.Join(",", lines)) : [];

    /// <summary>
    /// A request header's value as Vary compares it (RFC 9111 §4.1: "The header fields from two requests are
    /// defined to match if and only if those in the first request can be transformed to those in the second
    /// request by applying any of: adding or removing whitespace, where allowed in the header field's syntax;
    /// combining multiple header field lines with the same field name; normalizing both header field values in
    /// a way that is known to have identical semantics"). Read raw; its lines are one list whose members are
    /// trimmed and joined with ", "; for the content-negotiation fields, members are also compared without
    /// case, order or a default weight (<see cref="NormalizeNegotiationMember"/>). An absent header is the
    /// empty string.
    /// </summary>
    public static string RequestHeaderValue(HttpRequestMessage request, string name)
    {
        if (name == CacheRequestOptions.CallerName)
        {
            // Not a header: who the handler-level credentials and certificates make the caller.
            return request.Options.TryGetValue(CacheRequestOptions.CallerKey, out var caller) ? caller : string.Empty;
        }

        if (HttpFields.Lines(request, name) is not { } lines)
        {
            return string.Empty;
        }

        var members = lines.SelectMany(ListMembers);
        if (NegotiationFields.Contains(name))
        {
            members = members.Select(NormalizeNegotiationMember).Order(StringComparer.Ordinal);
        }

        return string.Join(", ", members);
    }

    /// <summary>Fields whose members are case-insensitive tokens with weights, in no meaningful order (RFC 9110 §12.5).</summary>
    private static readonly HashSet<string> NegotiationFields = new(StringComparer.OrdinalIgnoreCase) { "Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language" };

    /// <summary>The members of one field line, split at commas outside quoted strings, trimmed, empty ones dropped (RFC 9110 §5.6.1).</summary>
    private static IEnumerable<string> ListMembers(string line)
    {
        var start = 0;
        var quoted = false;
        for (var i = 0; i <= line.Length; i++)
        {
            if (i < line.Length && line[i] == '"')
            {
                quoted = !quoted;
            }
            else if (i < line.Length && line[i] == '\\' && quoted)
            {
                i++;
            }
            else if (i == line.Length || (line[i] == ',' && !quoted))
            {
                var member = line[start..Math.Min(i, line.Length)].Trim(' ', '\t');
                if (member.Length > 0)
                {
                    yield return member;
                }

                start = i + 1;
            }
        }
    }

    /// <summary>
    /// One member of a negotiation field in a form that means the same: lower case, no whitespace around
    /// parameters, and its weight as a plain decimal with the default <c>q=1</c> left out.
    /// </summary>
    private static string NormalizeNegotiationMember(string member)
    {
        var parts = member.Split(';', StringSplitOptions.TrimEntries);
        var normalized = new List<string>(parts.Length) { parts[0].ToLowerInvariant() };
        foreach (var parameter in parts.Skip(1))
        {
            var eq = parameter.IndexOf('=', StringComparison.Ordinal);
            var key = (eq < 0 ? parameter : parameter[..eq]).Trim().ToLowerInvariant();
            var value = eq < 0 ? string.Empty : parameter[(eq + 1)..].Trim();
            if (key == "q" && decimal.TryParse(value, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var weight))
            {
                if (weight == 1m)
                {
                    continue;
                }

                value = (weight / 1.000m).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
            }

            normalized.Add(eq < 0 ? key : key + "=" + value);
        }

        return string.Join(";", normalized);
    }

    /// <summary>
    /// The request-header pairs to store with an answer: the names its Vary lists, the session's match
    /// headers, and the credentials the request carried (as digests).
    /// </summary>
    public static List<KeyValuePair<string, string>> VaryValues(HttpRequestMessage request, HttpResponseMessage response, CacheSettings? settings = null)
    {
        settings ??= CacheSettings.Default;
        var result = new List<KeyValuePair<string, string>>();
        void Add(string name)
        {
            if (!result.Exists(v => string.Equals(v.Key, name, StringComparison.OrdinalIgnoreCase)))
            {
                result.Add(new(name, KeyedValue(request, name, settings)));
            }
        }

        foreach (var name in ResponseVary(response))
        {
            Add(name);
        }

        foreach (var name in settings.MatchHeaders ?? [])
        {
            Add(name);
        }

        if (settings.MatchAllHeaders)
        {
            Add(AllHeadersName);
        }

        foreach (var credential in SecretHeaders(request, settings))
        {
            Add(credential);
        }

        return result;
    }
}

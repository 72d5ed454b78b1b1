namespace HttpCache.Engine.Policy;

/// <summary>Which stored variant answers a request (RFC 9111 §4.1), and the request-header pairs stored with each.</summary>
public static partial class CachePolicy
{
    /// <summary>
    /// The variant whose stored request-header pairs match this request, or null: the headers its Vary
    /// names (RFC 9111 §4.1), the session's match headers, and the credentials it was stored for — a
    /// request with credentials never matches an answer stored for other credentials or for none.
    /// </summary>
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

            foreach (var credential in CredentialsInForce(settings))
            {
                if (matches && !variant.VaryValues.Any(v => string.Equals(v.Key, credential, StringComparison.OrdinalIgnoreCase))
                    && KeyedValue(request, credential, settings).Length != 0)
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

    /// <summary>The credential headers keyed by digest: all of them unless an explicit ignore list names them.</summary>
    public static IEnumerable<string> CredentialsInForce(CacheSettings settings) =>
        settings.IgnoredParameters is null
            ? CacheSettings.CredentialHeaders
            : CacheSettings.CredentialHeaders.Where(h => !settings.IgnoredParameters.Contains(h));

    /// <summary>The pseudo-header under which all request headers are matched at once (-MatchHeaders $true).</summary>
    public const string AllHeadersName = "*headers";

    /// <summary>
    /// A request header's value as keys and variants see it: secrets (ignored names and credentials) as a
    /// digest, never in clear; <see cref="AllHeadersName"/> as a digest of every non-ignored header.
    /// </summary>
    public static string KeyedValue(HttpRequestMessage request, string name, CacheSettings settings)
    {
        if (name == AllHeadersName)
        {
            var all = request.Headers.NonValidated
                .Where(h => !settings.EffectiveIgnoredParameters.Contains(h.Key) && !CacheSettings.CredentialHeaders.Contains(h.Key, StringComparer.OrdinalIgnoreCase))
                .OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase)
                .Select(h => h.Key.ToLowerInvariant() + ":" + string.Join(", ", h.Value));
            return Digest(string.Join("\n", all));
        }

        var value = RequestHeaderValue(request, name);
        var secret = settings.EffectiveIgnoredParameters.Contains(name) || CacheSettings.CredentialHeaders.Contains(name, StringComparer.OrdinalIgnoreCase);
        return secret && value.Length != 0 ? Digest(value) : value;
    }

    private static string Digest(string value) =>
        "sha256:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(value)), 0, 8).ToLowerInvariant();

    /// <summary>The header names a Vary value lists, trimmed.</summary>
    public static IReadOnlyList<string> VaryNames(string vary) =>
        vary.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// A request header's value as Vary compares it: every value joined with ", ", whitespace around
    /// them folded (RFC 9111 §4.1 allows normalising); an absent header is the empty string.
    /// </summary>
    public static string RequestHeaderValue(HttpRequestMessage request, string name)
    {
        IEnumerable<string>? values = null;
        if (!request.Headers.TryGetValues(name, out values) && request.Content is not null)
        {
            request.Content.Headers.TryGetValues(name, out values);
        }

        return values is null ? string.Empty : string.Join(", ", values.Select(v => v.Trim()));
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

        foreach (var name in response.Headers.Vary)
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

        foreach (var credential in CredentialsInForce(settings))
        {
            if (RequestHeaderValue(request, credential).Length != 0)
            {
                Add(credential);
            }
        }

        return result;
    }
}

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
    /// with a value: each keys the answer by its digest, so requests with other values, or none, never share it.
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
        return settings.IsRedacted(name) && value.Length != 0 ? Http.CacheKey.SecretDigest(value, settings.KeySecret) : value;
    }

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

        foreach (var credential in SecretHeaders(request, settings))
        {
            Add(credential);
        }

        return result;
    }
}

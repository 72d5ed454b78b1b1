using System.Net.Http.Headers;

namespace HttpCache.Engine.Policy;

/// <summary>Validation (RFC 9111 §4.3): the conditional request, and the stored headers a 304 updates.</summary>
public static partial class CachePolicy
{
    /// <summary>
    /// The stored headers updated from a 304 (§3.2, §4.3.4): each field the 304 carries replaces the
    /// stored one, except hop-by-hop fields, Age and Content-Length.
    /// </summary>
    public static List<KeyValuePair<string, string[]>> MergeNotModified(IReadOnlyList<KeyValuePair<string, string[]>> stored, HttpResponseMessage notModified)
    {
        var fresh = StorableHeaders(notModified)
            .Where(h => !string.Equals(h.Key, "Content-Length", StringComparison.OrdinalIgnoreCase))
            .ToList();
        var replaced = new HashSet<string>(fresh.Select(h => h.Key), StringComparer.OrdinalIgnoreCase);
        var merged = stored.Where(h => !replaced.Contains(h.Key)).ToList();
        merged.AddRange(fresh);
        return merged;
    }

    /// <summary>The conditional headers that revalidate a stored answer (§4.3.1).</summary>
    public static void AddValidators(HttpRequestMessage request, StoredResponse stored)
    {
        if (stored.ETag is { } etag && EntityTagHeaderValue.TryParse(etag, out var tag))
        {
            request.Headers.IfNoneMatch.Add(tag);
        }

        if (stored.LastModified is { } lastModified)
        {
            // Echoed as the origin wrote it: the origin compares its own date format best.
            request.Headers.TryAddWithoutValidation("If-Modified-Since", lastModified);
        }
    }
}

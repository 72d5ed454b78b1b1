using System.Net.Http.Headers;

namespace HttpCache.Engine.Policy;

/// <summary>Validation (RFC 9111 §4.3): the conditional request, and the stored headers a 304 updates.</summary>
public static partial class CachePolicy
{
    /// <summary>
    /// The stored headers updated from a 304 (§3.2, §4.3.4): each field the 304 carries replaces the
    /// stored one, except hop-by-hop fields, Age and Content-Length; the fields the update's own directives
    /// keep out of the store (<see cref="FieldsOmittedFromStore"/>) leave the stored answer too.
    /// </summary>
    public static List<KeyValuePair<string, string[]>> MergeNotModified(IReadOnlyList<KeyValuePair<string, string[]>> stored, HttpResponseMessage notModified, CacheSettings? settings = null)
    {
        var fresh = StorableHeaders(notModified, settings)
            .Where(h => !string.Equals(h.Key, "Content-Length", StringComparison.OrdinalIgnoreCase))
            .ToList();
        var replaced = new HashSet<string>(fresh.Select(h => h.Key), StringComparer.OrdinalIgnoreCase);
        replaced.UnionWith(FieldsOmittedFromStore(notModified, settings));
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

    /// <summary>
    /// RFC 9111 §4.3.5: whether a 200 to HEAD may freshen the stored GET answer: "if the stored response
    /// and HEAD response have matching values for any received validator fields (ETag and Last-Modified)
    /// and, if the HEAD response has a Content-Length header field, the value of Content-Length matches
    /// that of the stored response, the cache SHOULD update the stored response ...; otherwise, the cache
    /// SHOULD consider the stored response to be stale."
    /// </summary>
    public static bool HeadDescribesStored(HttpResponseMessage head, StoredResponse stored)
    {
        static bool Differs(string? stored, IReadOnlyList<string>? fresh) =>
            stored is not null && fresh is not null && !string.Equals(stored.Trim(), string.Join(", ", fresh).Trim(), StringComparison.Ordinal);

        if (Differs(stored.ETag, HttpFields.Lines(head, "ETag")) || Differs(stored.LastModified, HttpFields.Lines(head, "Last-Modified")))
        {
            return false;
        }

        var storedLength = stored.GetHeader("Content-Length") ?? (stored.Record.BodyStreamed ? null : stored.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return !Differs(storedLength, HttpFields.Lines(head, "Content-Length"));
    }
}

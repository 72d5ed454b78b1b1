namespace HttpCache.Engine.Policy;

/// <summary>
/// The caller's own conditional requests, answered from a stored answer (RFC 9111 §4.3.2, evaluated as
/// RFC 9110 §13.2.2 orders it).
/// </summary>
public static partial class CachePolicy
{
    /// <summary>The fields a 304 made from a stored answer carries (RFC 9110 §15.4.5).</summary>
    private static readonly string[] NotModifiedFields = ["Cache-Control", "Content-Location", "Date", "ETag", "Expires", "Vary"];

    /// <summary>True when the request carries If-None-Match or If-Modified-Since, which the cache can evaluate.</summary>
    public static bool HasCacheConditional(HttpRequestMessage request) =>
        request.Headers.NonValidated.Contains("If-None-Match") || request.Headers.NonValidated.Contains("If-Modified-Since");

    /// <summary>
    /// Whether the caller's conditional request, evaluated against <paramref name="stored"/>, is answered
    /// 304. If-None-Match, when present, decides alone with the weak comparison (RFC 9110 §13.1.2);
    /// otherwise If-Modified-Since against the stored Last-Modified, else its Date, else when it was
    /// received (RFC 9111 §4.3.2). A condition that cannot be read is ignored: the full answer is sent.
    /// </summary>
    public static bool EvaluatesToNotModified(HttpRequestMessage request, StoredResponse stored)
    {
        if (HttpFields.Lines(request, "If-None-Match") is { } ifNoneMatch)
        {
            var tags = EntityTags(string.Join(",", ifNoneMatch));
            if (tags is null)
            {
                return false;
            }

            if (tags.Count == 1 && tags[0] == "*")
            {
                return true;
            }

            return stored.ETag is { } etag && OpaqueTag(etag.Trim()) is { } storedTag && tags.Exists(t => OpaqueTag(t) == storedTag);
        }

        if (HttpFields.Date(HttpFields.Lines(request, "If-Modified-Since"), stored.ResponseTime) is not { } since)
        {
            return false;
        }

        var lastModified = HttpFields.Date(StoredLines(stored, "Last-Modified"), stored.ResponseTime)
            ?? HttpFields.Date(StoredLines(stored, "Date"), stored.ResponseTime)
            ?? stored.ResponseTime;
        return lastModified <= since;
    }

    /// <summary>The stored fields a 304 answer made by the cache carries.</summary>
    public static List<KeyValuePair<string, string[]>> NotModifiedHeaders(StoredResponse stored) =>
        stored.Headers.Where(h => NotModifiedFields.Contains(h.Key, StringComparer.OrdinalIgnoreCase)).ToList();

    private static IReadOnlyList<string>? StoredLines(StoredResponse stored, string name)
    {
        var lines = stored.Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).SelectMany(h => h.Value).ToList();
        return lines.Count == 0 ? null : lines;
    }

    /// <summary>The opaque-tag of an entity-tag, without W/: what the weak comparison compares. Null when malformed.</summary>
    private static string? OpaqueTag(string entityTag)
    {
        var tag = entityTag.StartsWith("W/", StringComparison.Ordinal) ? entityTag[2..] : entityTag;
        return tag.Length >= 2 && tag[0] == '"' && tag[^1] == '"' && tag.IndexOf('"', 1) == tag.Length - 1 ? tag : null;
    }

    /// <summary>The members of an If-None-Match value: "*" alone, or entity-tags. Null when malformed.</summary>
    private static List<string>? EntityTags(string value)
    {
        var tags = new List<string>();
        var i = 0;
        while (i < value.Length)
        {
            if (value[i] is ',' or ' ' or '\t')
            {
                i++;
                continue;
            }

            var start = i;
            if (value[i] == '*')
            {
                tags.Add("*");
                i++;
                continue;
            }

            if (string.CompareOrdinal(value, i, "W/", 0, 2) == 0)
            {
                i += 2;
            }

            if (i >= value.Length || value[i] != '"')
            {
                return null;
            }

            var close = value.IndexOf('"', i + 1);
            if (close < 0)
            {
                return null;
            }

            tags.Add(value[start..(close + 1)]);
            i = close + 1;
        }

        return tags.Count == 0 || (tags.Contains("*") && tags.Count > 1) ? null : tags;
    }
}

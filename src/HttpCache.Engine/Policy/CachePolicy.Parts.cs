using System.Globalization;

namespace HttpCache.Engine.Policy;

/// <summary>One byte range of a representation, as a 206's <c>Content-Range: bytes First-Last/Length</c> states it.</summary>
public readonly record struct ContentPart(long First, long Last, long Length)
{
    /// <summary>How many bytes the part holds.</summary>
    public long Size => Last - First + 1;

    /// <summary>True when the part is the whole representation.</summary>
    public bool IsWhole => First == 0 && Last == Length - 1;

    /// <summary>The field value that states the part.</summary>
    public string ContentRange => string.Create(CultureInfo.InvariantCulture, $"bytes {First}-{Last}/{Length}");
}

/// <summary>
/// 206 (Partial Content) answers stored as parts of a representation, and combined into the complete answer
/// when they add up (RFC 9111 §3.3–3.4, RFC 9110 §14.4 and §15.3.7.3).
/// </summary>
public static partial class CachePolicy
{
    /// <summary>
    /// The part a 206 answer holds when the cache may store it: one range with a known complete length, and a
    /// strong validator (§3.4: ranges are combined only "if they all share the same strong validator"). Null
    /// for anything else (a multipart/byteranges answer, an unknown length, a weak or missing validator).
    /// </summary>
    public static ContentPart? StorablePart(HttpResponseMessage response, DateTimeOffset responseTime) =>
        (int)response.StatusCode == 206 && StrongValidator(name => HttpFields.Lines(response, name), responseTime) is not null
            ? ParseContentRange(HttpFields.Lines(response, "Content-Range"))
            : null;

    /// <summary>The part a stored 206 holds, from its Content-Range.</summary>
    public static ContentPart? StoredPart(StoredResponse stored) =>
        stored.StatusCode == 206 ? ParseContentRange(StoredLines(stored, "Content-Range")) : null;

    /// <summary>The stored part's strong validator (as <see cref="StrongValidator(Func{string, IReadOnlyList{string}?}, DateTimeOffset)"/>).</summary>
    public static string? StrongValidator(StoredResponse stored) => StrongValidator(name => StoredLines(stored, name), stored.ResponseTime);

    /// <summary>
    /// A strong validator, tagged by kind so an ETag never equals a date: a strong entity-tag, else a
    /// Last-Modified at least one second before the Date (RFC 9110 §8.8.2.2: a Last-Modified is strong for a
    /// cache when "the cache entry includes a Date value, and ... the Last-Modified value is at least one
    /// second prior to the Date value"). Null when there is none.
    /// </summary>
    public static string? StrongValidator(Func<string, IReadOnlyList<string>?> lines, DateTimeOffset reference)
    {
        if (lines("ETag") is [var etag])
        {
            var tag = etag.Trim();
            return tag.StartsWith('"') && tag.Length >= 2 && tag.EndsWith('"') ? "etag " + tag : null;
        }

        return HttpFields.Date(lines("Last-Modified"), reference) is { } lastModified
            && HttpFields.Date(lines("Date"), reference) is { } date
            && date - lastModified >= TimeSpan.FromSeconds(1)
                ? "last-modified " + lastModified.UtcTicks.ToString(CultureInfo.InvariantCulture)
                : null;
    }

    /// <summary>
    /// How to answer the request's Range from a stored part. RFC 9111 §3.3: "A cache MUST NOT use an incomplete
    /// response to answer requests unless ... the request is partial and specifies a range wholly within the
    /// incomplete response." Anything else (no Range, a failed If-Range, a range reaching outside the part)
    /// goes to the origin.
    /// </summary>
    public static RangeDecision RangeFromPart(HttpRequestMessage request, StoredResponse stored, ContentPart part)
    {
        if (request.Method != HttpMethod.Get || HttpFields.Lines(request, "Range") is null)
        {
            return new(RangeAction.Origin);
        }

        var range = RangeOf(request, stored, part.Length);
        return range.Action == RangeAction.Partial && range.First >= part.First && range.Last <= part.Last
            ? range
            : new(RangeAction.Origin);
    }

    /// <summary>
    /// The union of two parts of one representation (same length; the caller has checked they share a strong
    /// validator), when they overlap or adjoin; null when a gap lies between them. Where they overlap, the
    /// newer's bytes are kept (RFC 9110 §15.3.7.3: "The combined response message content consists of the
    /// union of partial content ranges within the new response and all of the matching stored responses").
    /// </summary>
    public static (ContentPart Part, byte[] Body)? Combine(ContentPart older, byte[] olderBody, ContentPart newer, byte[] newerBody)
    {
        if (older.Length != newer.Length || olderBody.LongLength != older.Size || newerBody.LongLength != newer.Size
            || older.First > newer.Last + 1 || newer.First > older.Last + 1)
        {
            return null;
        }

        var union = new ContentPart(Math.Min(older.First, newer.First), Math.Max(older.Last, newer.Last), newer.Length);
        var body = new byte[union.Size];
        olderBody.CopyTo(body, older.First - union.First);
        newerBody.CopyTo(body, newer.First - union.First);
        return (union, body);
    }

    /// <summary>
    /// The headers of a combined answer: the newer answer's (RFC 9111 §3.4: "a cache MUST use the header fields
    /// provided in the new response, aside from Content-Range, to replace all instances of the corresponding
    /// header fields in the stored response"), with the Content-Range and Content-Length of the union; when the
    /// union is the whole representation, no Content-Range and the complete length (RFC 9110 §15.3.7.3: "the
    /// client MUST process the combined response as if it were a complete 200 (OK) response, including a
    /// Content-Length header field that reflects the complete length").
    /// </summary>
    public static List<KeyValuePair<string, string[]>> CombinedHeaders(IReadOnlyList<KeyValuePair<string, string[]>> newer, ContentPart union)
    {
        var headers = newer.Where(h => !string.Equals(h.Key, "Content-Range", StringComparison.OrdinalIgnoreCase)
            && !string.Equals(h.Key, "Content-Length", StringComparison.OrdinalIgnoreCase)).ToList();
        if (!union.IsWhole)
        {
            headers.Add(new("Content-Range", [union.ContentRange]));
        }

        headers.Add(new("Content-Length", [union.Size.ToString(CultureInfo.InvariantCulture)]));
        return headers;
    }

    /// <summary><c>bytes a-b/N</c> with a ≤ b &lt; N, one line; null otherwise (unsatisfied-range, unknown length, other units).</summary>
    private static ContentPart? ParseContentRange(IReadOnlyList<string>? lines)
    {
        if (lines is not [var line])
        {
            return null;
        }

        var value = line.Trim();
        if (!value.StartsWith("bytes ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var spec = value["bytes ".Length..];
        var slash = spec.IndexOf('/', StringComparison.Ordinal);
        var dash = spec.IndexOf('-', StringComparison.Ordinal);
        if (slash < 0 || dash < 0 || dash > slash)
        {
            return null;
        }

        return Digits(spec[..dash], out var first) && Digits(spec[(dash + 1)..slash], out var last) && Digits(spec[(slash + 1)..], out var length)
            && first <= last && last < length
                ? new ContentPart(first, last, length)
                : null;
    }
}

namespace HttpCache.Engine.Policy;

/// <summary>How a request's Range is answered from a stored complete answer.</summary>
public enum RangeAction
{
    /// <summary>No Range, or one to ignore (If-Range does not hold, not a GET, not bytes): the whole stored answer.</summary>
    Whole,
    /// <summary>One satisfiable byte range: 206 Partial Content from the stored body.</summary>
    Partial,
    /// <summary>A range the store does not answer (several ranges, unsatisfiable, malformed): the origin does.</summary>
    Origin,
}

/// <summary>The outcome of <see cref="CachePolicy.RangeFromStore"/>: the action and, for a partial answer, its first and last byte.</summary>
public readonly record struct RangeDecision(RangeAction Action, long First = 0, long Last = 0);

/// <summary>Range requests answered from a stored complete answer (RFC 9110 §14, RFC 9111 §3.3–3.4).</summary>
public static partial class CachePolicy
{
    /// <summary>
    /// How to answer the request's Range from <paramref name="stored"/>, a complete 200 whose body is
    /// <paramref name="length"/> bytes. A single range (<c>bytes=a-b</c>, <c>bytes=a-</c>, or the suffix
    /// <c>bytes=-n</c>) is answered 206 from the store. If-Range is honoured (RFC 9110 §13.1.5): unless it
    /// matches the stored ETag by the strong comparison, or equals the stored Last-Modified, the Range is
    /// ignored and the whole answer sent. Several ranges, and ranges the stored body cannot satisfy, go to
    /// the origin, whose answer (206, or 416) the cache relays.
    /// </summary>
    public static RangeDecision RangeFromStore(HttpRequestMessage request, StoredResponse stored, long length)
    {
        return request.Method != HttpMethod.Get || stored.StatusCode != 200 || HttpFields.Lines(request, "Range") is null
            ? new(RangeAction.Whole)
            : RangeOf(request, stored, length);
    }

    /// <summary>The request's Range (it has one) against a representation of <paramref name="length"/> bytes that <paramref name="stored"/> validates.</summary>
    private static RangeDecision RangeOf(HttpRequestMessage request, StoredResponse stored, long length)
    {
        var lines = HttpFields.Lines(request, "Range")!;
        if (HttpFields.Lines(request, "If-Range") is { } ifRange && !IfRangeHolds(string.Join(",", ifRange).Trim(), stored))
        {
            // RFC 9110 §13.1.5: "the recipient ... MUST ignore the Range header field" when the condition fails.
            return new(RangeAction.Whole);
        }

        var value = string.Join(",", lines).Trim();
        var eq = value.IndexOf('=', StringComparison.Ordinal);
        if (eq < 0)
        {
            return new(RangeAction.Origin);
        }

        if (!string.Equals(value[..eq].Trim(), "bytes", StringComparison.OrdinalIgnoreCase))
        {
            // §14.2: "An origin server MUST ignore a Range header field that contains a range unit it does not understand."
            return new(RangeAction.Whole);
        }

        var specs = value[(eq + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var dash = specs.Length == 1 ? specs[0].IndexOf('-', StringComparison.Ordinal) : -1;
        if (dash < 0)
        {
            return new(RangeAction.Origin);
        }

        var spec = specs[0];
        var firstText = spec[..dash].Trim();
        var lastText = spec[(dash + 1)..].Trim();
        if (firstText.Length == 0)
        {
            // suffix-range: the last n bytes (§14.1.2).
            if (!Digits(lastText, out var suffix) || suffix == 0 || length == 0)
            {
                return new(RangeAction.Origin);
            }

            return new(RangeAction.Partial, Math.Max(0, length - suffix), length - 1);
        }

        if (!Digits(firstText, out var first) || first >= length)
        {
            return new(RangeAction.Origin);
        }

        if (lastText.Length == 0)
        {
            return new(RangeAction.Partial, first, length - 1);
        }

        if (!Digits(lastText, out var last) || last < first)
        {
            return new(RangeAction.Origin);
        }

        return new(RangeAction.Partial, first, Math.Min(last, length - 1));
    }

    /// <summary>RFC 9110 §13.1.5: an entity-tag by the strong comparison, or a date equal to the stored Last-Modified.</summary>
    private static bool IfRangeHolds(string ifRange, StoredResponse stored)
    {
        if (ifRange.StartsWith('"') || ifRange.StartsWith("W/", StringComparison.Ordinal))
        {
            // "A client MUST NOT generate an If-Range header field containing an entity tag that is marked as weak";
            // the strong comparison never matches a weak tag.
            return !ifRange.StartsWith("W/", StringComparison.Ordinal) && stored.ETag is { } etag
                && !etag.StartsWith("W/", StringComparison.Ordinal) && string.Equals(etag.Trim(), ifRange, StringComparison.Ordinal);
        }

        return HttpFields.TryParseDate(ifRange, stored.ResponseTime, out var date)
            && HttpFields.Date(StoredLines(stored, "Last-Modified"), stored.ResponseTime) is { } lastModified
            && date == lastModified;
    }

    private static bool Digits(string text, out long value)
    {
        value = 0;
        return text.Length is > 0 and <= 18 && text.All(char.IsAsciiDigit)
            && long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value);
    }
}

using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace HttpCache.Testing;

/// <summary>
/// Ready-made handlers for <see cref="TestOrigin.Map"/>. Every 200 they write carries a counter body: the
/// text of <see cref="TestOrigin.RequestNumber"/> ("1", "2", …, also in <c>X-Request-Number</c>), so a test
/// can tell a stored answer from a new one.
/// </summary>
public static class OriginBehaviors
{
    /// <summary>The header that repeats the counter.</summary>
    public const string RequestNumberHeader = "X-Request-Number";

    /// <summary>200 with the counter body and <paramref name="headers"/>; nothing about caching unless the headers say it.</summary>
    public static RequestDelegate Counter(IReadOnlyDictionary<string, string>? headers = null) =>
        context => WriteCounterAsync(context, 200, headers);

    /// <summary>The counter with <c>Cache-Control: max-age=<paramref name="seconds"/></c>.</summary>
    public static RequestDelegate MaxAge(int seconds) =>
        Counter(new Dictionary<string, string> { ["Cache-Control"] = $"max-age={seconds}" });

    /// <summary>The counter with <c>Expires</c> set <paramref name="lifetime"/> after the origin's Date.</summary>
    public static RequestDelegate Expires(TimeSpan lifetime) => context =>
    {
        var date = TestOrigin.ResponseDate(context);
        return WriteCounterAsync(context, 200, new Dictionary<string, string> { ["Expires"] = TestOrigin.HttpDate(date + lifetime) });
    };

    /// <summary>The counter with <c>Cache-Control: no-store</c>.</summary>
    public static RequestDelegate NoStore() =>
        Counter(new Dictionary<string, string> { ["Cache-Control"] = "no-store" });

    /// <summary>
    /// The counter with <c>ETag: <paramref name="etag"/></c> (quoted, e.g. <c>"\"v1\""</c>), or 304 with the same
    /// headers and no body when the request's If-None-Match lists that tag (weak comparison, RFC 9110 §13.1.2) or <c>*</c>.
    /// </summary>
    public static RequestDelegate ETag(string etag, IReadOnlyDictionary<string, string>? headers = null) => context =>
    {
        var all = With(headers, "ETag", etag);
        var ifNoneMatch = context.Request.Headers.IfNoneMatch.ToString();
        return IfNoneMatchMatches(ifNoneMatch, etag)
            ? TestOrigin.WriteAsync(context, 304, null, all)
            : WriteCounterAsync(context, 200, all);
    };

    /// <summary>
    /// The counter with <c>Last-Modified: <paramref name="lastModified"/></c>, or 304 with the same headers when the
    /// request's If-Modified-Since is at or after it.
    /// </summary>
    public static RequestDelegate LastModified(DateTimeOffset lastModified, IReadOnlyDictionary<string, string>? headers = null) => context =>
    {
        var all = With(headers, "Last-Modified", TestOrigin.HttpDate(lastModified));
        var since = context.Request.Headers.IfModifiedSince.ToString();
        var notModified = DateTimeOffset.TryParse(since, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var ims)
            && TruncateToSeconds(lastModified) <= ims;
        return notModified ? TestOrigin.WriteAsync(context, 304, null, all) : WriteCounterAsync(context, 200, all);
    };

    /// <summary>
    /// <paramref name="body"/> with <paramref name="headers"/>: a request with one <c>Range: bytes=a-b</c> inside it
    /// gets 206 with that slice and its Content-Range (RFC 9110 §14.4), any other request the whole as 200.
    /// </summary>
    public static RequestDelegate Ranges(string body, IReadOnlyDictionary<string, string> headers) => context =>
    {
        var range = context.Request.Headers.Range.ToString();
        var spec = range.StartsWith("bytes=", StringComparison.Ordinal) ? range["bytes=".Length..].Split('-') : [];
        if (spec.Length == 2 && int.TryParse(spec[0], CultureInfo.InvariantCulture, out var first)
            && int.TryParse(spec[1], CultureInfo.InvariantCulture, out var last) && first <= last && last < body.Length)
        {
            var part = With(headers, "Content-Range", $"bytes {first}-{last}/{body.Length}");
            return TestOrigin.WriteAsync(context, 206, body[first..(last + 1)], part);
        }

        return TestOrigin.WriteAsync(context, 200, body, headers);
    };

    /// <summary>The counter with another status (500 by default), e.g. an origin failure.</summary>
    public static RequestDelegate Status(int status = 500, IReadOnlyDictionary<string, string>? headers = null) =>
        context => WriteCounterAsync(context, status, headers);

    /// <summary>
    /// Waits <paramref name="delay"/> before answering with <paramref name="then"/> (the counter by default). A
    /// client that gives up aborts the request, which ends the wait at once.
    /// </summary>
    public static RequestDelegate Slow(TimeSpan delay, RequestDelegate? then = null) => async context =>
    {
        try
        {
            await Task.Delay(delay, context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await (then ?? Counter())(context).ConfigureAwait(false);
    };

    /// <summary>Drops the connection without answering: the client sees an <see cref="HttpRequestException"/>.</summary>
    public static RequestDelegate Drop() => context =>
    {
        context.Abort();
        return Task.CompletedTask;
    };

    /// <summary>True when an If-None-Match value lists <paramref name="etag"/> (weakly) or is <c>*</c>.</summary>
    public static bool IfNoneMatchMatches(string? ifNoneMatch, string etag)
    {
        if (string.IsNullOrWhiteSpace(ifNoneMatch))
        {
            return false;
        }

        var wanted = Opaque(etag);
        return ifNoneMatch.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Any(tag => tag == "*" || Opaque(tag) == wanted);

        static string Opaque(string tag) => tag.StartsWith("W/", StringComparison.Ordinal) ? tag[2..] : tag;
    }

    private static Task WriteCounterAsync(HttpContext context, int status, IReadOnlyDictionary<string, string>? headers)
    {
        var number = TestOrigin.RequestNumber(context).ToString(CultureInfo.InvariantCulture);
        return TestOrigin.WriteAsync(context, status, number, With(headers, RequestNumberHeader, number));
    }

    private static Dictionary<string, string> With(IReadOnlyDictionary<string, string>? headers, string name, string value)
    {
        var all = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, existing) in headers ?? new Dictionary<string, string>())
        {
            all[key] = existing;
        }

        all[name] = value;
        return all;
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset instant) =>
        new(instant.UtcTicks - (instant.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
}

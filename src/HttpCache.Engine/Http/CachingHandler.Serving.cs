using System.Net;
using System.Runtime.CompilerServices;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;

namespace HttpCache.Engine.Http;

/// <summary>
/// A stored answer the policy says to serve, shaped by the request: the caller's own If-None-Match /
/// If-Modified-Since (RFC 9111 §4.3.2) and Range / If-Range (RFC 9110 §14, §13.1.5).
/// </summary>
public sealed partial class CachingHandler
{
    /// <summary>The fields a 206 made from the store describes its part with, replaced from the stored answer.</summary>
    private static readonly string[] PartFields = ["Content-Length", "Content-Range"];

    /// <summary>
    /// RFC 9111 §4.3.5: a HEAD is answered from the stored GET answer when that one would be served. Returns
    /// that answer, or the stored GET answer (if any) for a 200 to the HEAD to freshen, and whether the store
    /// could be read.
    /// </summary>
    private async Task<(StoredResponse? StoredGet, bool StoreUsable, HttpResponseMessage? Answer)> HeadFromStoredGetAsync(HttpRequestMessage request, CacheRequestOptions options, CacheResponseInfo info, CancellationToken cancellationToken)
    {
        if (request.Method != HttpMethod.Head || !settings.AllowedMethods.Contains("GET"))
        {
            return (null, true, null);
        }

        var getKey = BodylessPrimaryKey("GET", request);
        var (storedGet, storeUsable) = await FindAsync(getKey, request, info, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        if (storedGet is null || CachePolicy.Lookup(request, storedGet, settings, options, now) is not { Action: LookupAction.Serve } decision)
        {
            return (storedGet, storeUsable, null);
        }

        Describe(info, request, decision, storedGet);
        return (storedGet, storeUsable, await ServeStoredAsync(request, storedGet, decision, info, now, StaleReason(decision), options, cancellationToken).ConfigureAwait(false));
    }

    private Task<HttpResponseMessage> ServeStoredAsync(HttpRequestMessage request, StoredResponse stored, LookupDecision decision, CacheResponseInfo info, DateTimeOffset now, string? staleReason, CacheRequestOptions options, CancellationToken cancellationToken)
        => ServeStored(request, stored, decision, info, now, staleReason) is { } answer
            ? Task.FromResult(answer)
            : BypassAsync(request, options, info, CacheReason.BypassRange, cancellationToken);

    /// <summary>The stored answer as the request asks for it; null when only the origin can answer its Range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private HttpResponseMessage? ServeStored(HttpRequestMessage request, StoredResponse stored, LookupDecision decision, CacheResponseInfo info, DateTimeOffset now, string? staleReason)
    {
        if (CachePolicy.HasCacheConditional(request))
        {
            if (CachePolicy.EvaluatesToNotModified(request, stored))
            {
                return NotModifiedFromStore(request, stored, decision, info, now, staleReason);
            }

            info.Add(CacheEventId.Decision, CacheDiagnosticLevel.Verbose, "The request's condition does not hold for the stored answer: the stored answer is sent.");
        }

        // A body streamed to the store is served whole: a cache may always ignore Range (RFC 9110 §14.2).
        var range = stored.Record.BodyStreamed ? new RangeDecision(RangeAction.Whole) : CachePolicy.RangeFromStore(request, stored, stored.Body.Length);
        switch (range.Action)
        {
            case RangeAction.Origin:
                return null;
            case RangeAction.Partial:
                info.Add(CacheEventId.Decision, CacheDiagnosticLevel.Verbose, $"Range answered from the stored answer: bytes {range.First}-{range.Last} of {stored.Body.Length}.");
                return PartialAnswer(request, stored, decision, info, now, range, range.First, stored.Body.Length);
            default:
                return Hit(request, stored, decision, info, now, staleReason);
        }
    }

    /// <summary>
    /// A 304 made from the stored answer: it carries the stored Cache-Control, Content-Location, Date, ETag,
    /// Expires and Vary (RFC 9110 §15.4.5) and the cache's Age.
    /// </summary>
    private HttpResponseMessage NotModifiedFromStore(HttpRequestMessage request, StoredResponse stored, LookupDecision decision, CacheResponseInfo info, DateTimeOffset now, string? staleReason)
    {
        var full = Hit(request, stored, decision, info, now, staleReason);
        var notModified = new HttpResponseMessage(HttpStatusCode.NotModified)
        {
            Version = stored.Version,
            RequestMessage = request,
            Content = new ByteArrayContent([]),
        };
        foreach (var (name, values) in CachePolicy.NotModifiedHeaders(stored))
        {
            if (!notModified.Headers.TryAddWithoutValidation(name, values))
            {
                notModified.Content.Headers.TryAddWithoutValidation(name, values);
            }
        }

        notModified.Headers.Age = full.Headers.Age;
        full.Dispose();
        info.Add(CacheEventId.Decision, CacheDiagnosticLevel.Verbose, "The request's condition holds for the stored answer: answered 304 Not Modified from the cache.");
        return notModified;
    }
}

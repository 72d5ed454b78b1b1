using System.Net;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;

namespace HttpCache.Engine.Http;

/// <summary>The caller's own If-None-Match / If-Modified-Since, answered from the store (RFC 9111 §4.3.2).</summary>
public sealed partial class CachingHandler
{
    /// <summary>
    /// A 304 made from the stored answer when the caller's condition says the caller's copy is current,
    /// else the stored answer itself. The 304 carries the stored Cache-Control, Content-Location, Date,
    /// ETag, Expires and Vary (RFC 9110 §15.4.5) and the cache's Age.
    /// </summary>
    private HttpResponseMessage AnswerConditional(HttpRequestMessage request, StoredResponse stored, LookupDecision decision, CacheResponseInfo info, DateTimeOffset now)
    {
        var full = Hit(request, stored, decision, info, now, decision.Reason == CacheReason.StaleHitMaxStale ? "max-stale" : null);
        if (!CachePolicy.EvaluatesToNotModified(request, stored))
        {
            info.Add(CacheEventId.Decision, CacheDiagnosticLevel.Verbose, "The request's condition does not hold for the stored answer: the full stored answer is sent.");
            return full;
        }

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

using System.Net;
using System.Runtime.CompilerServices;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Http;

/// <summary>Answers built from the store: hits, stale answers on error, 504 Not Cached, and the verbose account of each decision.</summary>
public sealed partial class CachingHandler
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private HttpResponseMessage Hit(HttpRequestMessage request, StoredResponse stored, LookupDecision decision, CacheResponseInfo info, DateTimeOffset now, string? staleReason)
    {
        counters.Increment(CacheCounter.Hits);
        if (decision.IsExpired)
        {
            counters.Increment(CacheCounter.StaleServed);
            info.StaleReason = staleReason;
        }

        info.Reason = decision.Reason;
        info.FromCache = true;
        info.IsExpired = decision.IsExpired;
        info.CacheKey = stored.Record.Key;
        info.CreatedAt = stored.Record.CreatedAt;
        info.ExpiresAt = stored.Record.ExpiresAt;
        accessLog?.Record(stored.Record.Key, now);
        return ToResponse(stored, request, decision.Age);
    }

    private HttpResponseMessage StaleOnError(HttpRequestMessage request, StoredResponse stored, CacheResponseInfo info, string why)
    {
        var now = time.GetUtcNow();
        info.Add(CacheEventId.Decision, CacheDiagnosticLevel.Verbose, $"stale-if-error: {why}; answering with the stored copy ({ExpiryText(stored.Record.ExpiresAt)}).");
        var expired = stored.Record.ExpiresAt is { } e && now >= e;
        return Hit(request, stored, new LookupDecision(LookupAction.Serve, CacheReason.StaleIfError, expired, CachePolicy.CurrentAge(stored, now)), info, now, "stale-if-error");
    }

    /// <summary>An answer built from a stored one, with the Age the cache computed (RFC 9111 §5.1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private HttpResponseMessage ToResponse(StoredResponse stored, HttpRequestMessage request, TimeSpan age)
    {
        var response = new HttpResponseMessage((HttpStatusCode)stored.StatusCode)
        {
            ReasonPhrase = stored.ReasonPhrase,
            Version = stored.Version,
            RequestMessage = request,
            // §4.3.5: a HEAD answered from a stored GET gets its header fields, not its content.
            Content = request.Method == HttpMethod.Head
                ? new ByteArrayContent([])
                : stored.Record.BodyStreamed && store is IStreamingCacheStore streaming && stored.Checksum is { } checksum
                    ? new StoredBodyContent(streaming, stored.Record, checksum, StreamedBodyDamagedAsync)
                    : new ByteArrayContent(stored.Body),
        };
        foreach (var (name, values) in stored.Headers)
        {
            if (!response.Headers.TryAddWithoutValidation(name, values))
            {
                response.Content.Headers.TryAddWithoutValidation(name, values);
            }
        }

        response.Headers.Age = TimeSpan.FromSeconds(Math.Floor(age.TotalSeconds));
        return response;
    }

    private static HttpResponseMessage NotCached(HttpRequestMessage request) => new(HttpStatusCode.GatewayTimeout)
    {
        // requests-cache's answer to only-if-cached with nothing usable stored.
        ReasonPhrase = "Not Cached",
        RequestMessage = request,
        Content = new ByteArrayContent([]),
    };

    private static void Describe(CacheResponseInfo info, HttpRequestMessage request, LookupDecision decision, StoredResponse? stored)
    {
        info.Reason = decision.Reason;
        info.IsExpired = decision.IsExpired;
        if (stored is not null)
        {
            info.CacheKey = stored.Record.Key;
            info.CreatedAt = stored.Record.CreatedAt;
            info.ExpiresAt = stored.Record.ExpiresAt;
        }

        // Taken now: a redirect later changes the request's target and method.
        var (method, uri) = (request.Method, request.RequestUri);
        info.Explain(CacheEventId.Decision, () => Explanation(method, uri, decision, stored));
    }

    private static string Explanation(HttpMethod method, Uri? uri, LookupDecision decision, StoredResponse? stored)
    {
        var what = $"{method} {uri}: {decision.Reason.ToId()}";
        return decision.Action switch
        {
            LookupAction.Serve => $"{what}, served from the cache (age {decision.Age.TotalSeconds:0}s, {ExpiryText(stored!.Record.ExpiresAt)}).",
            LookupAction.ServeAndRefresh => $"{what}, served stale from the cache (age {decision.Age.TotalSeconds:0}s, expired {stored!.Record.ExpiresAt:u}).",
            LookupAction.Revalidate => $"{what}, revalidating with {(stored!.ETag is not null ? "If-None-Match " + stored.ETag : "If-Modified-Since " + stored.LastModified)}.",
            LookupAction.NotCached => $"{what}, answered 504 Not Cached without contacting the origin.",
            _ => $"{what}, fetching from the origin.",
        };
    }

    private static string ExpiryText(DateTimeOffset? expiresAt) =>
        expiresAt is { } at ? $"fresh until {at:u}" : "never expires";
}

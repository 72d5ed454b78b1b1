using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Http;

/// <summary>Talking to the origin: the request's own timeout, the bypass path, and invalidation after unsafe methods (RFC 9111 §4.4).</summary>
public sealed partial class CachingHandler
{
    /// <summary>Sends to the origin under the request's own timeout, which becomes a <see cref="TimeoutException"/>.</summary>
    private async Task<HttpResponseMessage> SendToOriginAsync(HttpRequestMessage request, CacheRequestOptions options, CancellationToken cancellationToken)
    {
        if (options.Timeout is not { } timeout)
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            return await base.SendAsync(request, timeoutSource.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The origin did not answer within {timeout.TotalSeconds:0.###} seconds.", ex);
        }
    }

    private async Task<HttpResponseMessage> BypassAsync(HttpRequestMessage request, CacheRequestOptions options, CacheResponseInfo info, CacheReason bypass, CancellationToken cancellationToken)
    {
        info.Reason = bypass;
        if (bypass == CacheReason.BypassDoNotCache)
        {
            info.StoreReason = CacheReason.NotStorableDoNotCache;
        }

        counters.Increment(CacheCounter.Bypassed);
        info.Add(CacheEventId.Decision, CacheDiagnosticLevel.Verbose, $"{request.Method} {request.RequestUri}: {bypass.ToId()}, the cache stays out.");
        if (options.Mode == CacheMode.OnlyIfCached)
        {
            return NotCached(request);
        }

        var response = await SendToOriginAsync(request, options, cancellationToken).ConfigureAwait(false);
        if (!SafeMethods.Contains(request.Method.Method) && (int)response.StatusCode is >= 200 and < 400)
        {
            await InvalidateAsync(request, response, info, cancellationToken).ConfigureAwait(false);
        }

        return response;
    }

    /// <summary>
    /// RFC 9111 §4.4: an unsafe method that succeeded invalidates the stored answers for its URL and for
    /// same-origin Location and Content-Location — every variant of GET and HEAD.
    /// </summary>
    private async Task InvalidateAsync(HttpRequestMessage request, HttpResponseMessage response, CacheResponseInfo info, CancellationToken cancellationToken)
    {
        var target = request.RequestUri!;
        var targets = new List<Uri> { target };
        foreach (var name in new[] { "Location", "Content-Location" })
        {
            if (HttpFields.Lines(response, name) is [var raw] && Uri.TryCreate(raw.Trim(), UriKind.RelativeOrAbsolute, out var related)
                && Uri.TryCreate(target, related, out var absolute)
                && Uri.Compare(absolute, target, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0)
            {
                targets.Add(absolute);
            }
        }

        try
        {
            // A queued write of one of these answers must not land after the removal.
            await writes.DrainAsync(cancellationToken).ConfigureAwait(false);
            var removed = 0;
            foreach (var uri in targets.Distinct())
            {
                foreach (var method in new[] { "GET", "HEAD" })
                {
                    var primary = CacheKey.Primary(method, uri, null, null, settings);
                    removed += await store.RemoveAsync(new CacheQuery { PrimaryKey = primary }, cancellationToken).ConfigureAwait(false);
                }
            }

            if (removed > 0)
            {
                for (var i = 0; i < removed; i++)
                {
                    counters.Increment(CacheCounter.Invalidations);
                }

                info.StoreReason = CacheReason.Invalidated;
                info.Add(CacheEventId.Store, CacheDiagnosticLevel.Verbose, $"{request.Method} succeeded: {removed} stored answer(s) for {string.Join(", ", targets.Distinct())} invalidated.");
            }

            StoreRecovered(info, null);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            StoreFailed(info, "invalidate", ex, null);
        }
    }
}

using System.Net;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Http;

/// <summary>
/// 206 answers kept as parts of a representation (RFC 9111 §3.3–3.4): one part per variant, stored next to
/// the complete answer under the same primary key (so removing the URL removes it too) and told apart by its
/// status. A Range inside the part is answered from it; parts that add up to the whole become the complete 200.
/// </summary>
public sealed partial class CachingHandler
{
    /// <summary>Appended to a variant's key for its part, which a complete answer never has.</summary>
    private const string PartKeySuffix = "#part";

    /// <summary>
    /// A Range request the complete answers could not serve, answered 206 from a fresh stored part that holds the
    /// whole range; null when there is none.
    /// </summary>
    private async Task<HttpResponseMessage?> ServeFromPartAsync(HttpRequestMessage request, string primaryKey, CacheRequestOptions options, CacheResponseInfo info, CancellationToken cancellationToken)
    {
        if (request.Method != HttpMethod.Get || !request.Headers.NonValidated.Contains("Range"))
        {
            return null;
        }

        var (stored, _) = await FindAsync(primaryKey, request, info, cancellationToken, parts: true).ConfigureAwait(false);
        var now = time.GetUtcNow();
        if (stored is null || CachePolicy.StoredPart(stored) is not { } part
            || CachePolicy.Lookup(request, stored, settings, options, now) is not { Action: LookupAction.Serve } decision
            || CachePolicy.RangeFromPart(request, stored, part) is not { Action: RangeAction.Partial } range)
        {
            return null;
        }

        Describe(info, request, decision, stored);
        info.Add(CacheEventId.Decision, CacheDiagnosticLevel.Verbose, $"Range answered from the stored part {part.ContentRange}: bytes {range.First}-{range.Last}.");
        return PartialAnswer(request, stored, decision, info, now, range, range.First - part.First, part.Length);
    }

    /// <summary>A 206 carrying bytes First..Last of the representation, cut from the stored body at <paramref name="offset"/>.</summary>
    private HttpResponseMessage PartialAnswer(HttpRequestMessage request, StoredResponse stored, LookupDecision decision, CacheResponseInfo info, DateTimeOffset now, RangeDecision range, long offset, long length)
    {
        var answer = Hit(request, stored, decision, info, now, null);
        var part = new ByteArrayContent(stored.Body, (int)offset, (int)(range.Last - range.First + 1));
        foreach (var (name, values) in answer.Content.Headers.NonValidated)
        {
            if (!PartFields.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                part.Headers.TryAddWithoutValidation(name, values);
            }
        }

        part.Headers.TryAddWithoutValidation("Content-Range", new ContentPart(range.First, range.Last, length).ContentRange);
        answer.Content.Dispose();
        answer.Content = part;
        answer.StatusCode = HttpStatusCode.PartialContent;
        answer.ReasonPhrase = null;
        return answer;
    }

    /// <summary>
    /// Stores a 206 the policy found storable: combined with the stored part when they share a strong validator
    /// and overlap or adjoin (the complete 200 when they cover the whole), else replacing it.
    /// </summary>
    private async Task<HttpResponseMessage> StorePartAsync(HttpRequestMessage request, HttpRequestMessage callerHeaders, HttpResponseMessage response, string primaryKey, StoreDecision storeDecision, DateTimeOffset requestTime, DateTimeOffset responseTime, CacheResponseInfo info, CancellationToken cancellationToken)
    {
        if (CachePolicy.StorablePart(response, responseTime) is not { } part)
        {
            // A 206 admitted only by -AllowedStatusCodes: a part the cache cannot combine is never stored.
            info.StoreReason = CacheReason.NotStorableStatus;
            info.Add(CacheEventId.Store, CacheDiagnosticLevel.Verbose, "Not stored: a 206 is kept only with one byte range, its complete length and a strong validator.");
            return response;
        }

        if (part.Size > settings.MaxBodySize || await BodyCodec.ReadUpToAsync(response, settings.MaxBodySize, cancellationToken).ConfigureAwait(false) is not { } body)
        {
            return TooLarge(response, info);
        }

        if (body.LongLength != part.Size)
        {
            // §3.3: an incomplete response "MUST [be treated] as incomplete"; a part that lacks bytes it claims is not kept.
            info.StoreReason = CacheReason.NotStorableStatus;
            info.Add(CacheEventId.Store, CacheDiagnosticLevel.Verbose, $"Not stored: the 206 holds {body.LongLength} of the {part.Size} bytes its Content-Range states.");
            return response;
        }

        var entry = NewEntry(request, callerHeaders, response, primaryKey, storeDecision, requestTime, responseTime, body, keySuffix: PartKeySuffix);
        var (older, _) = await FindAsync(primaryKey, callerHeaders, info, cancellationToken, parts: true).ConfigureAwait(false);
        if (older is not null && CachePolicy.StoredPart(older) is { } olderPart
            && CachePolicy.StrongValidator(older) == CachePolicy.StrongValidator(entry)
            && CachePolicy.Combine(olderPart, older.Body, part, body) is { } union)
        {
            var whole = union.Part.IsWhole;
            entry = Combined(entry, union.Part, union.Body, whole);
            if (whole)
            {
                // The part is spent: the complete answer takes its place.
                await RemovePartAsync(older.Record, info, cancellationToken).ConfigureAwait(false);
            }

            info.Add(CacheEventId.Store, CacheDiagnosticLevel.Verbose, whole
                ? $"The stored part {olderPart.ContentRange} and this {part.ContentRange} make the whole representation: stored as a complete 200."
                : $"The stored part {olderPart.ContentRange} and this {part.ContentRange} combine into {union.Part.ContentRange}.");
        }

        if (await TryWriteAsync(entry, info, cancellationToken).ConfigureAwait(false))
        {
            info.CacheKey = entry.Record.Key;
            info.CreatedAt = responseTime;
            info.ExpiresAt = storeDecision.ExpiresAt;
            info.Add(CacheEventId.Store, CacheDiagnosticLevel.Verbose, $"Stored as {entry.Record.Key}, {ExpiryText(storeDecision.ExpiresAt)}.");
        }

        return response;
    }

    /// <summary>The new part's entry, holding the union instead; a whole one is the complete 200 under the variant's own key.</summary>
    private static StoredResponse Combined(StoredResponse newer, ContentPart union, byte[] body, bool whole)
    {
        var record = newer.Record;
        return new StoredResponse
        {
            Record = new CacheRecordInfo
            {
                Key = whole ? record.Key[..^PartKeySuffix.Length] : record.Key,
                PrimaryKey = record.PrimaryKey,
                Method = record.Method,
                Uri = record.Uri,
                StatusCode = whole ? 200 : 206,
                CreatedAt = record.CreatedAt,
                ExpiresAt = record.ExpiresAt,
                KeepUntil = record.KeepUntil,
            },
            StatusCode = whole ? 200 : 206,
            ReasonPhrase = whole ? "OK" : newer.ReasonPhrase,
            Version = newer.Version,
            Headers = CachePolicy.CombinedHeaders(newer.Headers, union),
            VaryValues = newer.VaryValues,
            RequestTime = newer.RequestTime,
            ResponseTime = newer.ResponseTime,
            InitialAge = newer.InitialAge,
            Body = body,
        };
    }

    private async Task RemovePartAsync(CacheRecordInfo part, CacheResponseInfo info, CancellationToken cancellationToken)
    {
        try
        {
            await writes.DrainAsync(cancellationToken).ConfigureAwait(false);
            await store.RemoveAsync(new CacheQuery { Key = part.Key }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Left behind, the part is only dead weight: the complete answer is found first.
            StoreFailed(info, "remove a combined part", ex, part.PrimaryKey);
        }
    }
}

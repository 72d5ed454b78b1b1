using System.Net;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>In-memory requests, responses and stored answers for the pure policy tests; time is a value.</summary>
internal static class PolicyData
{
    /// <summary>"Now" for every policy test.</summary>
    public static readonly DateTimeOffset Now = new(2025, 1, 15, 12, 0, 0, TimeSpan.Zero);

    public const string Url = "https://example.test/resource";

    /// <summary>A request; <paramref name="headers"/> as "Name: value" lines.</summary>
    public static HttpRequestMessage Request(params string[] headers) => Request(HttpMethod.Get, headers);

    public static HttpRequestMessage Request(HttpMethod method, params string[] headers)
    {
        var request = new HttpRequestMessage(method, Url);
        foreach (var (name, value) in Split(headers))
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return request;
    }

    /// <summary>A response; headers as "Name: value" lines, content headers (Expires, Content-Type…) where they belong.</summary>
    public static HttpResponseMessage Response(HttpStatusCode status, params string[] headers)
    {
        var response = new HttpResponseMessage(status) { Content = new ByteArrayContent([]) };
        foreach (var (name, value) in Split(headers))
        {
            if (!response.Headers.TryAddWithoutValidation(name, value))
            {
                response.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return response;
    }

    public static HttpResponseMessage Response(params string[] headers) => Response(HttpStatusCode.OK, headers);

    /// <summary>
    /// A stored 200. <paramref name="expiresIn"/> is relative to <see cref="Now"/> (null: never expires);
    /// <paramref name="receivedAgo"/> says how long ago it arrived.
    /// </summary>
    public static StoredResponse Stored(
        TimeSpan? expiresIn,
        TimeSpan? receivedAgo = null,
        string[]? headers = null,
        KeyValuePair<string, string>[]? varyValues = null,
        TimeSpan initialAge = default,
        string key = "k")
    {
        var received = Now - (receivedAgo ?? TimeSpan.FromMinutes(1));
        return new StoredResponse
        {
            Record = new CacheRecordInfo
            {
                Key = key,
                PrimaryKey = "k",
                Method = "GET",
                Uri = Url,
                StatusCode = 200,
                CreatedAt = received,
                ExpiresAt = expiresIn is { } e ? Now + e : null,
            },
            StatusCode = 200,
            Headers = Split(headers ?? []).Select(h => new KeyValuePair<string, string[]>(h.Name, [h.Value])).ToList(),
            VaryValues = varyValues ?? [],
            RequestTime = received,
            ResponseTime = received,
            InitialAge = initialAge,
        };
    }

    public static TimeSpan Seconds(double seconds) => TimeSpan.FromSeconds(seconds);

    private static IEnumerable<(string Name, string Value)> Split(IEnumerable<string> headers) =>
        headers.Select(h =>
        {
            var colon = h.IndexOf(':', StringComparison.Ordinal);
            return (h[..colon].Trim(), h[(colon + 1)..].Trim());
        });
}

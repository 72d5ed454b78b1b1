using System.Net.Http.Headers;
using System.Text;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;

namespace HttpCache;

/// <summary>
/// An answer of Invoke-CachedWebRequest: what Invoke-WebRequest gives (status, headers, content) and how
/// the cache served it (FromCache, Reason, ExpiresAt…).
/// </summary>
public sealed class CachedResponse
{
    private readonly byte[] body;
    private MemoryStream? rawContentStream;

    internal CachedResponse(HttpResponseMessage response, byte[] body, CacheResponseInfo? info, string method, string uri)
    {
        this.body = body;
        Method = method;
        Uri = response.RequestMessage?.RequestUri?.AbsoluteUri ?? uri;
        StatusCode = (int)response.StatusCode;
        StatusDescription = response.ReasonPhrase ?? string.Empty;
        Headers = ReadHeaders(response);
        Content = Decode(body, response.Content?.Headers.ContentType);
        Age = response.Headers.Age;

        if (info is not null)
        {
            FromCache = info.FromCache;
            IsExpired = info.IsExpired;
            Revalidated = info.Revalidated;
            CreatedAt = info.CreatedAt?.LocalDateTime;
            ExpiresAt = info.ExpiresAt?.LocalDateTime;
            CacheKey = info.CacheKey;
            Reason = info.Reason.ToId();
            StoreReason = info.StoreReason?.ToId();
            StaleReason = info.StaleReason;
            Diagnostics = info.Diagnostics.Select(d => (d.Level == CacheDiagnosticLevel.Warning, d.Message)).ToArray();
        }
        else
        {
            Reason = CacheReason.None.ToId();
        }
    }

    /// <summary>The request method.</summary>
    public string Method { get; }

    /// <summary>The URL that answered (after redirects).</summary>
    public string Uri { get; }

    /// <summary>The HTTP status code.</summary>
    public int StatusCode { get; }

    /// <summary>The reason phrase: OK, Not Found, Not Cached…</summary>
    public string StatusDescription { get; }

    /// <summary>Response and content headers, by case-insensitive name.</summary>
    public Dictionary<string, string[]> Headers { get; }

    /// <summary>The body decoded by the Content-Type's charset (UTF-8 when it names none).</summary>
    public string Content { get; }

    /// <summary>The body's length in bytes.</summary>
    public long RawContentLength => body.LongLength;

    /// <summary>The body's bytes, as a stream positioned at its start (as Invoke-WebRequest's).</summary>
    public MemoryStream RawContentStream => rawContentStream ??= new MemoryStream(body, writable: false);

    /// <summary>True when the answer came from the store (fresh, revalidated, or stale).</summary>
    public bool FromCache { get; }

    /// <summary>True when the stored answer was past its expiration when it was looked up.</summary>
    public bool IsExpired { get; }

    /// <summary>When the stored answer was first stored (local time), if it was.</summary>
    public DateTime? CreatedAt { get; }

    /// <summary>When the stored answer becomes stale (local time); empty when it never does or was not stored.</summary>
    public DateTime? ExpiresAt { get; }

    /// <summary>The cache entry's key, when the cache looked at the request.</summary>
    public string? CacheKey { get; }

    /// <summary>True when the origin confirmed the stored answer with 304 Not Modified.</summary>
    public bool Revalidated { get; }

    /// <summary>Why the cache did what it did: fresh-hit, miss-no-entry, revalidated, only-if-cached-miss…</summary>
    public string Reason { get; }

    /// <summary>What happened to the origin's answer: stored, not-storable-status…; empty when there was none.</summary>
    public string? StoreReason { get; }

    /// <summary>Why a stale answer was served (max-stale, stale-if-error…); empty when the answer was not stale.</summary>
    public string? StaleReason { get; }

    /// <summary>The answer's age (the Age header), when it has one.</summary>
    public TimeSpan? Age { get; }

    internal byte[] Body => body;

    /// <summary>
    /// The cache's diagnostics for this answer, in order; written by the cmdlet as verbose and warning
    /// messages. Framework types only: see <see cref="CacheSession"/> on engine types in this assembly's public types.
    /// </summary>
    internal IReadOnlyList<(bool IsWarning, string Message)> Diagnostics { get; } = [];

    /// <summary>The content, as Invoke-WebRequest's answer gives it.</summary>
    public override string ToString() => Content;

    private static Dictionary<string, string[]> ReadHeaders(HttpResponseMessage response)
    {
        var headers = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        void Add(HttpHeaders source)
        {
            foreach (var (name, values) in source.NonValidated)
            {
                var list = values.ToArray();
                headers[name] = headers.TryGetValue(name, out var existing) ? [.. existing, .. list] : list;
            }
        }

        Add(response.Headers);
        if (response.Content is not null)
        {
            Add(response.Content.Headers);
        }

        return headers;
    }

    private static string Decode(byte[] body, MediaTypeHeaderValue? contentType)
    {
        if (body.Length == 0)
        {
            return string.Empty;
        }

        var encoding = Encoding.UTF8;
        var charset = contentType?.CharSet?.Trim('"', '\'', ' ');
        if (!string.IsNullOrEmpty(charset))
        {
            try
            {
                encoding = Encoding.GetEncoding(charset);
            }
            catch (ArgumentException)
            {
                // An unknown charset: UTF-8, as Invoke-WebRequest falls back to its default.
            }
        }

        // A byte order mark wins over the header, as browsers do.
        using var reader = new StreamReader(new MemoryStream(body, writable: false), encoding, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }
}

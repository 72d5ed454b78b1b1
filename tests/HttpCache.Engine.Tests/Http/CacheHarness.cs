using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Memory;
using HttpCache.Engine.Storage.Sqlite;
using HttpCache.Testing;
using Microsoft.Extensions.Time.Testing;

namespace HttpCache.Engine.Tests.Http;

/// <summary>An answer read whole: the response, its body text and what the cache says about it.</summary>
internal sealed record Answer(HttpResponseMessage Response, string Body, CacheResponseInfo Info)
{
    public int Status => (int)Response.StatusCode;

    public string? Header(string name) =>
        Response.Headers.TryGetValues(name, out var values) || Response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : null;

    public bool HasDiagnostic(CacheEventId id, CacheDiagnosticLevel level) =>
        Info.Diagnostics.Any(d => d.EventId == id && d.Level == level);
}

/// <summary>
/// A session over a fresh store with a fake clock. The clock starts in 2001, well before the real time the
/// origin writes in its Date headers, so apparent age (RFC 9111 §4.2.3) is always zero and expiry instants
/// are exact: T0 + max-age. Time moves only when a test advances it.
/// </summary>
internal sealed class CacheHarness : IAsyncDisposable
{
    public static readonly DateTimeOffset T0 = new(2001, 2, 3, 4, 5, 6, TimeSpan.Zero);

    private readonly string? folder;

    private CacheHarness(ICacheStore store, CacheSettings? settings, string? folder, HttpMessageHandler? innerHandler = null)
    {
        this.folder = folder;
        Store = store;
        Session = new HttpCacheSession(store, settings, Clock, innerHandler);
    }

    public FakeTimeProvider Clock { get; } = new(T0);

    public ICacheStore Store { get; }

    public HttpCacheSession Session { get; }

    public CacheCounterSet Counters => Session.Counters.Snapshot();

    /// <summary>A harness over "Memory", "Sqlite" (a new file in a temp folder) or a given store.</summary>
    public static CacheHarness Create(string backend = "Memory", CacheSettings? settings = null)
    {
        switch (backend)
        {
            case "Memory":
                return new CacheHarness(new MemoryCacheStore(), settings, null);
            case "Sqlite":
                var folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", Guid.NewGuid().ToString("N"));
                return new CacheHarness(new SqliteCacheStore(Path.Combine(folder, "cache.sqlite")), settings, folder);
            default:
                throw new ArgumentOutOfRangeException(nameof(backend), backend, "Memory or Sqlite.");
        }
    }

    public static CacheHarness Over(ICacheStore store, CacheSettings? settings = null, HttpMessageHandler? innerHandler = null) => new(store, settings, null, innerHandler);

    public Task<Answer> GetAsync(Uri url, CacheRequestOptions? options = null, params string[] headers) =>
        SendAsync(HttpMethod.Get, url, options, null, headers);

    public async Task<Answer> SendAsync(HttpMethod method, Uri url, CacheRequestOptions? options = null, string? body = null, params string[] headers)
    {
        var request = new HttpRequestMessage(method, url);
        if (body is not null)
        {
            request.Content = new StringContent(body);
        }

        foreach (var header in headers)
        {
            var colon = header.IndexOf(':', StringComparison.Ordinal);
            request.Headers.TryAddWithoutValidation(header[..colon].Trim(), header[(colon + 1)..].Trim());
        }

        return await SendAsync(request, options);
    }

    public async Task<Answer> SendAsync(HttpRequestMessage request, CacheRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        var response = await Session.SendAsync(request, options, cancellationToken: cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        var info = response.GetCacheInfo() ?? throw new InvalidOperationException("The answer carries no cache info.");
        return new Answer(response, text, info);
    }

    public async Task<List<CacheRecordInfo>> EntriesAsync()
    {
        // Store writes leave the request path; what the store holds is known once they land.
        await Session.Handler.DrainWritesAsync();
        var list = new List<CacheRecordInfo>();
        await foreach (var entry in Store.ListAsync(CacheQuery.All))
        {
            list.Add(entry);
        }

        return list;
    }

    public async ValueTask DisposeAsync()
    {
        await Session.DisposeAsync();
        if (folder is not null && Directory.Exists(folder))
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A pooled connection may still hold the file for a moment; the temp folder is cleaned by the OS.
            }
        }
    }
}

using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HttpCache.Testing;

/// <summary>
/// A real HTTP origin for tests: Kestrel on 127.0.0.1 with a port the system picks. Tests register a
/// handler per path (<see cref="Map"/>, <see cref="Respond"/>, or a ready-made one from
/// <see cref="OriginBehaviors"/>) and read back what arrived (<see cref="RequestCount"/>,
/// <see cref="Requests"/>). A path nobody mapped answers 404 and is recorded all the same.
/// Thread-safe; one origin can serve a whole test class (give each test its own path with <see cref="NewPath"/>).
/// </summary>
public sealed class TestOrigin : IAsyncDisposable
{
    private static readonly object ItemKey = new();
    private static readonly object DateKey = new();

    private readonly WebApplication app;
    private readonly ConcurrentDictionary<string, RequestDelegate> handlers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PathLog> logs = new(StringComparer.Ordinal);
    private int pathCounter;
    private int disposed;

    private TestOrigin(WebApplication app, TimeProvider clock)
    {
        this.app = app;
        Clock = clock;
        app.Run(HandleAsync);
    }

    /// <summary>
    /// Starts an origin on 127.0.0.1, port 0. <paramref name="clock"/> dates its answers (the Date header,
    /// and the Expires and Last-Modified values of <see cref="OriginBehaviors"/>); the system clock when null.
    /// </summary>
    public static async Task<TestOrigin> StartAsync(TimeProvider? clock = null, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Logging.ClearProviders();
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.WebHost.ConfigureKestrel(o =>
        {
            o.AddServerHeader = false;
            o.Listen(IPAddress.Loopback, 0);
        });

        var origin = new TestOrigin(builder.Build(), clock ?? TimeProvider.System);
        await origin.app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = origin.app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        origin.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return origin;
    }

    /// <summary>The origin's root, e.g. <c>http://127.0.0.1:40123/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The clock that dates the origin's answers.</summary>
    public TimeProvider Clock { get; }

    /// <summary>The absolute URL of a path (and query) on this origin.</summary>
    public Uri Url(string pathAndQuery) => new(BaseAddress, pathAndQuery.TrimStart('/'));

    /// <summary>A path no other caller of this origin gets: <c>/name-7</c>. Lets tests share one origin.</summary>
    public string NewPath(string name = "p") => $"/{name.Trim('/')}-{Interlocked.Increment(ref pathCounter)}";

    /// <summary>
    /// A new path (as <see cref="NewPath"/>) answered by <see cref="OriginBehaviors.Counter"/>, whose body is the
    /// number of requests it has had, and its absolute URL: the origin most cache tests need.
    /// </summary>
    public (string Path, string Url) NewCounterPath(string name = "p")
    {
        var path = NewPath(name);
        Map(path, OriginBehaviors.Counter());
        return (path, Url(path).AbsoluteUri);
    }

    /// <summary>Answers requests to <paramref name="path"/> (any method, any query) with <paramref name="handler"/>, replacing an earlier one.</summary>
    public TestOrigin Map(string path, RequestDelegate handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        handlers[Normalize(path)] = handler;
        return this;
    }

    /// <summary>Answers requests to <paramref name="path"/> with a fixed status, headers and body.</summary>
    public TestOrigin Respond(string path, int status, IReadOnlyDictionary<string, string>? headers = null, string? body = null) =>
        Map(path, context => WriteAsync(context, status, body, headers));

    /// <summary>How many requests reached <paramref name="path"/> (the query is not part of the path).</summary>
    public int RequestCount(string path) => logs.TryGetValue(Normalize(path), out var log) ? log.Count : 0;

    /// <summary>The requests that reached <paramref name="path"/>, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests(string path) => logs.TryGetValue(Normalize(path), out var log) ? log.Snapshot() : [];

    /// <summary>The latest request to <paramref name="path"/>, or null.</summary>
    public RecordedRequest? LastRequest(string path) => Requests(path) is { Count: > 0 } list ? list[^1] : null;

    /// <summary>Every request that reached the origin, on any path.</summary>
    public int TotalRequests => logs.Values.Sum(l => l.Count);

    /// <summary>The origin serving <paramref name="context"/> (for handlers that need its clock).</summary>
    public static TestOrigin Of(HttpContext context) => (TestOrigin)context.Items[ItemKey]!;

    /// <summary>Which request to its path this is, counting from 1 (the origin's own count, not the handler's).</summary>
    public static int RequestNumber(HttpContext context) => ((RecordedRequest)context.Items[typeof(RecordedRequest)]!).Number;

    /// <summary>The instant in the answer's Date header (whole seconds, from <see cref="Clock"/>): base Expires and the like on it.</summary>
    public static DateTimeOffset ResponseDate(HttpContext context) => (DateTimeOffset)context.Items[DateKey]!;

    /// <summary>Writes a whole answer: status, headers (Content-Type goes where it belongs) and an optional UTF-8 body.</summary>
    public static async Task WriteAsync(HttpContext context, int status, string? body = null, IReadOnlyDictionary<string, string>? headers = null)
    {
        context.Response.StatusCode = status;
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            context.Response.Headers[name] = value;
        }

        if (body is null || status is 204 or 304 || (status >= 100 && status < 200))
        {
            return;
        }

        var bytes = System.Text.Encoding.UTF8.GetBytes(body);
        context.Response.ContentLength = bytes.Length;
        if (!context.Response.Headers.ContainsKey("Content-Type"))
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
        }

        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>An HTTP date (RFC 9110 §5.6.7) as the origin writes it.</summary>
    public static string HttpDate(DateTimeOffset instant) => instant.ToUniversalTime().ToString("r", CultureInfo.InvariantCulture);

    /// <summary>Stops the server, aborting requests still running after two seconds.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await app.StopAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Whatever still runs is cut off with the server.
        }

        await app.DisposeAsync().ConfigureAwait(false);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = Normalize(context.Request.Path.Value);
        // Buffered, so the handler can read the body after it was recorded.
        context.Request.EnableBuffering();
        byte[] body;
        using (var buffer = new MemoryStream())
        {
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            body = buffer.ToArray();
        }

        context.Request.Body.Position = 0;

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in context.Request.Headers)
        {
            headers[name] = values.ToString();
        }

        var log = logs.GetOrAdd(path, static _ => new PathLog());
        var recorded = log.Add(number => new RecordedRequest(number, context.Request.Method, path, context.Request.QueryString.Value ?? string.Empty, headers, body));
        var now = Clock.GetUtcNow();
        var date = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        context.Items[ItemKey] = this;
        context.Items[typeof(RecordedRequest)] = recorded;
        context.Items[DateKey] = date;
        context.Response.Headers.Date = HttpDate(date);

        if (handlers.TryGetValue(path, out var handler))
        {
            await handler(context).ConfigureAwait(false);
        }
        else
        {
            await WriteAsync(context, StatusCodes.Status404NotFound, $"Nothing is mapped at {path}.").ConfigureAwait(false);
        }
    }

    private static string Normalize(string? path)
    {
        var trimmed = (path ?? string.Empty).Split('?', 2)[0];
        return trimmed.StartsWith('/') ? trimmed : "/" + trimmed;
    }

    private sealed class PathLog
    {
        private readonly List<RecordedRequest> requests = [];

        public int Count
        {
            get
            {
                lock (requests)
                {
                    return requests.Count;
                }
            }
        }

        public RecordedRequest Add(Func<int, RecordedRequest> create)
        {
            lock (requests)
            {
                var request = create(requests.Count + 1);
                requests.Add(request);
                return request;
            }
        }

        public IReadOnlyList<RecordedRequest> Snapshot()
        {
            lock (requests)
            {
                return requests.ToArray();
            }
        }
    }
}

/// <summary>One request as the origin received it.</summary>
/// <param name="Number">Its place among the requests to its path, from 1.</param>
/// <param name="Method">The method.</param>
/// <param name="Path">The path, without the query.</param>
/// <param name="Query">The query string with its '?', or empty.</param>
/// <param name="Headers">The request headers, names case-insensitive, repeated values joined with ','.</param>
/// <param name="Body">The request body (empty when none).</param>
public sealed record RecordedRequest(int Number, string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    /// <summary>A header's value, or null when the request did not carry it.</summary>
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    /// <summary>The body as UTF-8 text.</summary>
    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);
}

using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using HttpCache.Engine.Policy;

namespace HttpCache.Engine.Http;

/// <summary>
/// The bottom of a session's handler chain, under <see cref="CachingHandler"/>: sends each request through
/// the pooled network handler of its <see cref="TransportSettings"/> (one per distinct setting, kept for the
/// session's life, never one per request), follows redirects itself when the settings ask for what the
/// network handler cannot do, and retries as Invoke-WebRequest does. Because it sits under the cache, a
/// stale-if-error answer is given only after the retries have failed.
/// </summary>
public sealed class TransportHandler : HttpMessageHandler
{
    /// <summary>Distinct settings a session pools handlers for; past this, the least recently created goes.</summary>
    internal const int MaxPooledHandlers = 32;

    private readonly ConcurrentDictionary<string, Lazy<HttpMessageInvoker>> pool = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> created = new();
    private readonly HttpMessageInvoker? fixedInner;
    private readonly TimeProvider time;

    /// <summary>Pools network handlers built from each request's settings.</summary>
    public TransportHandler(TimeProvider? time = null) => this.time = time ?? TimeProvider.System;

    /// <summary>Sends everything through <paramref name="inner"/> (a test's or host's own handler); retries and redirects still apply.</summary>
    public TransportHandler(HttpMessageHandler inner, TimeProvider? time = null)
    {
        fixedInner = new HttpMessageInvoker(inner ?? throw new ArgumentNullException(nameof(inner)), disposeHandler: true);
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>How many distinct handlers the pool holds now (for tests and diagnostics).</summary>
    public int PooledHandlerCount => pool.Count;

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var settings = request.Options.TryGetValue(CachingHandler.OptionsKey, out var options) && options.Transport is { } given
            ? given
            : TransportSettings.Default;
        var invoker = fixedInner ?? Invoker(settings);

        var attemptsLeft = settings.MaximumRetryCount;
        while (true)
        {
            var response = await SendFollowingAsync(invoker, request, settings, cancellationToken).ConfigureAwait(false);
            if (attemptsLeft <= 0 || !ShouldRetry(response.StatusCode))
            {
                return response;
            }

            attemptsLeft--;
            var wait = settings.RetryInterval;

            // As Invoke-WebRequest: a 429's Retry-After, in seconds, replaces the interval; a broken one is ignored.
            if (response.StatusCode == HttpStatusCode.TooManyRequests
                && response.Headers.TryGetValues("Retry-After", out var values)
                && int.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
                && seconds >= 0)
            {
                wait = TimeSpan.FromSeconds(seconds);
            }

            response.Dispose();
            await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            fixedInner?.Dispose();
            foreach (var entry in pool.Values)
            {
                if (entry.IsValueCreated)
                {
                    entry.Value.Dispose();
                }
            }

            pool.Clear();
        }

        base.Dispose(disposing);
    }

    // Invoke-WebRequest retries a 304 and every 4xx and 5xx.
    private static bool ShouldRetry(HttpStatusCode status) => (int)status is 304 or (>= 400 and <= 599);

    private static bool IsRedirect(HttpStatusCode status) => status is HttpStatusCode.Found or HttpStatusCode.Moved or HttpStatusCode.MultipleChoices
        or HttpStatusCode.PermanentRedirect or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect;

    /// <summary>Sends, and when the settings ask for it follows redirects here rather than in the network handler.</summary>
    private static async Task<HttpResponseMessage> SendFollowingAsync(HttpMessageInvoker invoker, HttpRequestMessage request, TransportSettings settings, CancellationToken cancellationToken)
    {
        var response = await invoker.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!settings.FollowsRedirectsItself)
        {
            return response;
        }

        var left = settings.MaximumRedirection ?? 50;
        var current = request;
        while (left != 0 && IsRedirect(response.StatusCode) && response.Headers.Location is { } location)
        {
            left--;
            var target = new Uri(current.RequestUri!, location);
            if (current.RequestUri!.Scheme == Uri.UriSchemeHttps && target.Scheme == Uri.UriSchemeHttp && !settings.AllowInsecureRedirect)
            {
                return response; // the caller reports the insecure redirect, as Invoke-WebRequest
            }

            var forceGet = !settings.PreserveHttpMethodOnRedirect && response.StatusCode switch
            {
                HttpStatusCode.Found or HttpStatusCode.Moved or HttpStatusCode.MultipleChoices => current.Method == HttpMethod.Post,
                HttpStatusCode.SeeOther => current.Method != HttpMethod.Get && current.Method != HttpMethod.Head,
                _ => false,
            };
            var next = new HttpRequestMessage(forceGet ? HttpMethod.Get : current.Method, target) { Version = current.Version, VersionPolicy = current.VersionPolicy };
            foreach (var (name, values) in current.Headers.NonValidated)
            {
                if (name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) && !settings.PreserveAuthorizationOnRedirect)
                {
                    continue;
                }

                next.Headers.TryAddWithoutValidation(name, values);
            }

            if (!forceGet && current.Content is not null)
            {
                var body = await current.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                next.Content = new ByteArrayContent(body);
                foreach (var (name, values) in current.Content.Headers.NonValidated)
                {
                    next.Content.Headers.TryAddWithoutValidation(name, values);
                }
            }

            foreach (var option in current.Options)
            {
                ((IDictionary<string, object?>)next.Options)[option.Key] = option.Value;
            }

            response.Dispose();
            response = await invoker.SendAsync(next, cancellationToken).ConfigureAwait(false);
            current = next;
        }

        return response;
    }

    private HttpMessageInvoker Invoker(TransportSettings settings)
    {
        var key = settings.PoolKey;
        if (pool.TryGetValue(key, out var existing))
        {
            return existing.Value;
        }

        var added = pool.GetOrAdd(key, k =>
        {
            created.Enqueue(k);
            return new Lazy<HttpMessageInvoker>(() => new HttpMessageInvoker(CreateNetworkHandler(settings), disposeHandler: true));
        });
        while (pool.Count > MaxPooledHandlers && created.TryDequeue(out var oldest))
        {
            // Settings that vary without end (a new certificate per call) must not grow the pool without bound;
            // a request still on an evicted handler finishes on it, and its idle connections close on their own.
            if (oldest != key)
            {
                pool.TryRemove(oldest, out _);
            }
        }

        return added.Value;
    }

    /// <summary>A network handler for one set of settings, as Invoke-WebRequest's session would build it.</summary>
    internal static SocketsHttpHandler CreateNetworkHandler(TransportSettings settings)
    {
        var handler = new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.All,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            UseCookies = false,
            AllowAutoRedirect = !settings.FollowsRedirectsItself && settings.MaximumRedirection is not 0,
        };
        if (settings.MaximumRedirection is > 0)
        {
            handler.MaxAutomaticRedirections = settings.MaximumRedirection.Value;
        }

        if (settings.Credentials is not null)
        {
            handler.Credentials = settings.Credentials;
        }
        else if (settings.UseDefaultCredentials)
        {
            handler.Credentials = CredentialCache.DefaultCredentials;
        }

        if (settings.NoProxy)
        {
            handler.UseProxy = false;
        }
        else if (settings.Proxy is not null)
        {
            handler.Proxy = new WebProxy(settings.Proxy)
            {
                BypassProxyOnLocal = false,
                Credentials = settings.ProxyCredentials,
                UseDefaultCredentials = settings.ProxyCredentials is null && settings.ProxyUseDefaultCredentials,
            };
        }

        if (settings.SkipCertificateCheck)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }

        if (settings.ClientCertificates is { Count: > 0 } certificates)
        {
            handler.SslOptions.ClientCertificates = [.. certificates];
        }

        if (settings.SslProtocols != System.Security.Authentication.SslProtocols.None)
        {
            handler.SslOptions.EnabledSslProtocols = settings.SslProtocols;
        }

        if (settings.ConnectTimeout is { } connectTimeout)
        {
            handler.ConnectTimeout = connectTimeout;
        }

        if (settings.UnixSocket is { } endpoint)
        {
            handler.ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(endpoint, token).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }

        return handler;
    }
}

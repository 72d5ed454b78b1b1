using System.Collections.Concurrent;
using System.Globalization;
using System.Management.Automation;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Http;
using HttpCache.Engine.Policy;

namespace HttpCache.Commands;

/// <summary>
/// Sends the requests of Invoke-CachedWebRequest and Invoke-CachedRestMethod. Without -ThrottleLimit, each
/// pipeline item is sent in ProcessRecord and a failure is terminating, as Invoke-WebRequest's. With it, the
/// items are prepared in ProcessRecord and sent in EndProcessing through the engine's async API, at most
/// -ThrottleLimit at once (a <see cref="SemaphoreSlim"/>); a failed item is an error record of its own.
/// Either way, output, progress, verbose, warnings and errors are written only from the pipeline thread:
/// the workers hand their outcomes over through a queue.
/// </summary>
internal sealed class RequestRunner : IDisposable
{
    /// <summary>
    /// How much longer than -TimeoutSec the cmdlet's own deadline waits. The engine's timeout (applied inside
    /// the cache, so that it can fall back to a stale answer) covers the wait for the origin's answer; this
    /// later deadline bounds the whole exchange, the body included, without racing the engine's fallback.
    /// </summary>
    private static readonly TimeSpan DeadlineGrace = TimeSpan.FromSeconds(1);

    private const int ProgressActivityId = 0x4854; // 'HT'

    private readonly CachedRequestCommandBase cmdlet;
    private readonly EngineCall engine = new();
    private readonly List<PreparedRequest> pending = [];

    public RequestRunner(CachedRequestCommandBase cmdlet) => this.cmdlet = cmdlet;

    private bool? verboseShown;

    /// <summary>
    /// Whether WriteVerbose shows anything for this command, decided as PowerShell decides it (-Verbose, else -Debug,
    /// else $VerbosePreference in the caller's scope): the cache's explanations are put into words only then.
    /// </summary>
    private bool VerboseShown => verboseShown ??= VerboseShownFor(cmdlet);

    internal static bool VerboseShownFor(PSCmdlet cmdlet)
    {
        var bound = cmdlet.MyInvocation.BoundParameters;
        if (bound.TryGetValue("Verbose", out var verbose))
        {
            return LanguagePrimitives.IsTrue(verbose);
        }

        if (bound.TryGetValue("Debug", out var debug) && LanguagePrimitives.IsTrue(debug))
        {
            return true;
        }

        return !LanguagePrimitives.TryConvertTo<ActionPreference>(cmdlet.GetVariableValue("VerbosePreference"), out var preference)
            || preference is not (ActionPreference.SilentlyContinue or ActionPreference.Ignore);
    }

    private bool IsBatch => cmdlet.MyInvocation.BoundParameters.ContainsKey(nameof(CachedRequestCommandBase.ThrottleLimit));

    /// <summary>ProcessRecord: sends now, or collects for the batch. With -FollowRelLink, each next page is fetched (and cached) in turn.</summary>
    public void Process()
    {
        var batch = IsBatch;
        Uri? next = null;
        var pages = 0;
        do
        {
            var prepared = Prepare(batch, next);
            if (prepared is null)
            {
                return;
            }

            if (batch)
            {
                pending.Add(prepared);
                return;
            }

            using (prepared)
            {
                var outcome = engine.Run(token => SendAsync(prepared, cmdlet.ConnectionTimeoutSeconds, cmdlet.OperationTimeoutSeconds, token));
                if (!Complete(outcome, batch: false))
                {
                    return;
                }

                next = cmdlet.RelLinksToFollow > 1 && outcome.Response!.RelationLink.TryGetValue("next", out var link) && System.Uri.TryCreate(link, UriKind.Absolute, out var nextUri) ? nextUri : null;
            }

            if (next is not null && pages + 1 < cmdlet.RelLinksToFollow)
            {
                cmdlet.WriteVerbose($"Following rel link {next.AbsoluteUri}");
            }
        }
        while (next is not null && ++pages < cmdlet.RelLinksToFollow);
    }

    /// <summary>EndProcessing: runs the batch, if any.</summary>
    public void Finish()
    {
        if (IsBatch && pending.Count > 0)
        {
            RunBatch();
        }
    }

    public void Stop() => engine.Stop();

    public void Dispose()
    {
        foreach (var item in pending)
        {
            item.Dispose();
        }

        pending.Clear();
        engine.Dispose();
    }

    /// <summary>Checks the current pipeline item and builds its request; null when it failed (the error is reported).</summary>
    private PreparedRequest? Prepare(bool batch, Uri? followed = null)
    {
        if (Validate() is { } invalid)
        {
            Fail(invalid, batch);
            return null;
        }

        var uriError = string.Empty;
        var uri = followed ?? WebRequestBuilder.ParseUri(cmdlet.Uri, out uriError);
        if (uri is null)
        {
            // Never reaches the engine: the cache keys only absolute http(s) URLs.
            Fail(Errors.InvalidUri(cmdlet.Uri, uriError), batch);
            return null;
        }

        if (!cmdlet.AllowUnencryptedAuthentication && uri.Scheme != System.Uri.UriSchemeHttps
            && (cmdlet.Authentication != WebAuthenticationType.None || cmdlet.Credential is not null || cmdlet.UseDefaultCredentials))
        {
            Fail(ValidationError("The cmdlet cannot protect plain text secrets sent over unencrypted connections. To suppress this warning and send plain text secrets over unencrypted networks, reissue the command specifying the AllowUnencryptedAuthentication parameter.", ErrorIds.AllowUnencryptedAuthenticationRequired), batch);
            return null;
        }

        HttpMethod method;
        var methodName = cmdlet.CustomMethod ?? cmdlet.Method;
        try
        {
            method = methodName.Equals("GET", StringComparison.OrdinalIgnoreCase) ? HttpMethod.Get : new HttpMethod(methodName.Trim().ToUpperInvariant());
        }
        catch (FormatException ex)
        {
            Fail(new ErrorRecord(new ArgumentException($"'{methodName}' is not an HTTP method: {ex.Message}", ex), ErrorIds.InvalidMethod, ErrorCategory.InvalidArgument, methodName), batch);
            return null;
        }

        var webSession = PrepareWebSession(batch);
        if (webSession is null && (cmdlet.WebSession is not null || cmdlet.SessionVariable is not null))
        {
            return null;
        }

        // As Invoke-WebRequest: the session keeps what this call was given (headers, agent, credentials, limits).
        var headers = new System.Collections.Specialized.OrderedDictionary(StringComparer.OrdinalIgnoreCase);
        if (webSession is not null)
        {
            foreach (var (name, value) in webSession.Headers)
            {
                headers[name] = value;
            }
        }

        if (cmdlet.Headers is not null)
        {
            foreach (System.Collections.DictionaryEntry entry in cmdlet.Headers)
            {
                var name = (entry.Key is PSObject key ? key.BaseObject : entry.Key)?.ToString() ?? string.Empty;
                headers[name] = entry.Value;
                if (webSession is not null && entry.Value is not null)
                {
                    webSession.Headers[name] = entry.Value.ToString() ?? string.Empty;
                }
            }
        }

        if (Authorization() is { } authorization)
        {
            headers["Authorization"] = authorization;
            if (webSession is not null)
            {
                webSession.Headers["Authorization"] = authorization;
            }
        }

        var body = cmdlet.Body is PSObject wrappedBody ? wrappedBody.BaseObject : cmdlet.Body;
        if (method == HttpMethod.Get && body is System.Collections.IDictionary query)
        {
            // As Invoke-WebRequest: a GET's dictionary body is its query string.
            uri = WebRequestBuilder.WithQuery(uri, query);
            body = null;
        }

        var outFile = cmdlet.OutFile is null ? null : cmdlet.ResolveOutFile(cmdlet.OutFile);
        long? resumeFrom = null;
        if (cmdlet.Resume && outFile is not null)
        {
            resumeFrom = File.Exists(outFile) ? new FileInfo(outFile).Length : 0;
        }

        string? inFile = null;
        if (cmdlet.InFile is not null)
        {
            inFile = cmdlet.ResolveOutFile(cmdlet.InFile);
            if (!File.Exists(inFile))
            {
                Fail(new ErrorRecord(new FileNotFoundException($"Cannot find the -InFile '{cmdlet.InFile}'.", inFile), ErrorIds.InFileNotFound, ErrorCategory.ObjectNotFound, cmdlet.InFile), batch);
                return null;
            }
        }

        var userAgent = cmdlet.UserAgent ?? webSession?.UserAgent;
        if (webSession is not null && cmdlet.UserAgent is not null)
        {
            webSession.UserAgent = cmdlet.UserAgent;
        }

        TransportSettings transport;
        try
        {
            transport = Transport(webSession);
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            Fail(new ErrorRecord(ex, ErrorIds.WebCmdletCertificateException, ErrorCategory.SecurityError, cmdlet.CertificateThumbprint), batch);
            return null;
        }

        var session = Sessions.Resolve(cmdlet, cmdlet.Session);
        HttpRequestMessage request;
        try
        {
            request = WebRequestBuilder.Build(new WebRequestParts(method, uri)
            {
                Headers = headers,
                Body = body,
                Form = cmdlet.Form,
                InFile = inFile,
                ContentType = cmdlet.ContentType,
                UserAgent = userAgent,
                TransferEncoding = cmdlet.TransferEncoding,
                SkipHeaderValidation = cmdlet.SkipHeaderValidation,
                DisableKeepAlive = cmdlet.DisableKeepAlive,
                HttpVersion = cmdlet.HttpVersion,
                Cookie = webSession?.Cookies.GetCookieHeader(uri),
                RangeFrom = resumeFrom,
            });
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            Fail(new ErrorRecord(ex, ErrorIds.InvalidRequest, ErrorCategory.InvalidArgument, uri), batch);
            return null;
        }

        if (Errors.PastExpiration(cmdlet.ExpireAfter, session.Engine.Time.GetUtcNow()) is { } past)
        {
            request.Dispose();
            Fail(past, batch);
            return null;
        }

        var options = new CacheRequestOptions
        {
            ExpireAfter = cmdlet.ExpireAfter is Expiration expiration ? expiration : null,
            Mode = cmdlet.ParameterSetName switch
            {
                CachedRequestCommandBase.RefreshSet => CacheMode.Refresh,
                CachedRequestCommandBase.ForceRefreshSet => CacheMode.ForceRefresh,
                CachedRequestCommandBase.OnlyIfCachedSet => CacheMode.OnlyIfCached,
                _ => CacheMode.Default,
            },
            Timeout = cmdlet.ConnectionTimeoutSeconds > 0 ? TimeSpan.FromSeconds(cmdlet.ConnectionTimeoutSeconds) : null,
            Transport = transport,
        };

        return new PreparedRequest(uri, session, request, options, outFile, streamToFile: outFile is not null && !cmdlet.PassThru && resumeFrom is null, webSession, resumeFrom);
    }

    /// <summary>Invoke-WebRequest's checks of parameters that do not go together, with its ErrorIds; null when they fit.</summary>
    private ErrorRecord? Validate()
    {
        var c = cmdlet;
        var bound = c.MyInvocation.BoundParameters;
        string? message = null;
        string? id = null;
        if (c.WebSession is not null && c.SessionVariable is not null)
        {
            (message, id) = ("The cmdlet cannot run because the following conflicting parameters are specified: Session and SessionVariable. Specify either Session or SessionVariable, then retry.", ErrorIds.SessionConflict);
        }
        else if (c.WebSession is not null && WebSessionAdapter.From(c.WebSession) is null)
        {
            (message, id) = ($"-WebSession takes a {WebSessionAdapter.TypeName} (from -SessionVariable or New-Object), not a {(c.WebSession is PSObject p ? p.BaseObject : c.WebSession).GetType().FullName}.", ErrorIds.InvalidWebSession);
        }
        else if (c.UseDefaultCredentials && c.Authentication != WebAuthenticationType.None)
        {
            (message, id) = ("The cmdlet cannot run because the following conflicting parameters are specified: Authentication and UseDefaultCredentials. Authentication does not support Default Credentials. Specify either Authentication or UseDefaultCredentials, then retry.", ErrorIds.AuthenticationConflict);
        }
        else if (c.Authentication != WebAuthenticationType.None && c.Token is not null && c.Credential is not null)
        {
            (message, id) = ("The cmdlet cannot run because the following conflicting parameters are specified: Credential and Token. Specify either Credential or Token, then retry.", ErrorIds.AuthenticationTokenConflict);
        }
        else if (c.Authentication == WebAuthenticationType.Basic && c.Credential is null)
        {
            (message, id) = ("The cmdlet cannot run because the following parameter is missing: Credential. Provide a valid Credential, then retry.", ErrorIds.AuthenticationCredentialNotSupplied);
        }
        else if (c.Authentication is WebAuthenticationType.Bearer or WebAuthenticationType.OAuth && c.Token is null)
        {
            (message, id) = ("The cmdlet cannot run because the following parameter is missing: Token. Provide a valid Token, then retry.", ErrorIds.AuthenticationTokenNotSupplied);
        }
        else if (c.UseDefaultCredentials && c.Credential is not null)
        {
            (message, id) = ("The cmdlet cannot run because the following conflicting parameters are specified: Credential and UseDefaultCredentials. Specify either Credential or UseDefaultCredentials, then retry.", ErrorIds.CredentialConflict);
        }
        else if (c.NoProxy && (c.Proxy is not null || c.ProxyCredential is not null || c.ProxyUseDefaultCredentials))
        {
            (message, id) = ("The cmdlet cannot run because the following conflicting parameters are specified: NoProxy and Proxy. Specify either NoProxy or Proxy, then retry.", ErrorIds.ConflictingParameters);
        }
        else if (c.ProxyUseDefaultCredentials && c.ProxyCredential is not null)
        {
            (message, id) = ("The cmdlet cannot run because the following conflicting parameters are specified: ProxyCredential and ProxyUseDefaultCredentials. Specify either ProxyCredential or ProxyUseDefaultCredentials, then retry.", ErrorIds.ProxyCredentialConflict);
        }
        else if (c.Proxy is null && (c.ProxyCredential is not null || c.ProxyUseDefaultCredentials))
        {
            (message, id) = ("The cmdlet cannot run because the following parameter is missing: Proxy. Provide a valid proxy URI for the Proxy parameter when using the ProxyCredential or ProxyUseDefaultCredentials parameters, then retry.", ErrorIds.ProxyUriNotSupplied);
        }
        else if (bound.ContainsKey(nameof(c.Method)) && c.CustomMethod is not null)
        {
            (message, id) = ("The cmdlet cannot run because the following conflicting parameters are specified: Method and CustomMethod. Specify either Method or CustomMethod, then retry.", ErrorIds.ConflictingParameters);
        }
        else if (c.Body is not null && c.InFile is not null)
        {
            (message, id) = ("The cmdlet cannot run because the following conflicting parameters are specified: Body and InFile. Specify either Body or Infile, then retry.", ErrorIds.BodyConflict);
        }
        else if (c.Body is not null && c.Form is not null)
        {
            (message, id) = ("The cmdlet cannot run because the following conflicting parameters are specified: Body and Form. Specify either Body or Form, then retry.", ErrorIds.BodyFormConflict);
        }
        else if (c.InFile is not null && c.Form is not null)
        {
            (message, id) = ("The cmdlet cannot run because the following conflicting parameters are specified: InFile and Form. Specify either InFile or Form, then retry.", ErrorIds.FormInFileConflict);
        }
        else if ((c.PassThru || c.Resume) && c.OutFile is null)
        {
            (message, id) = ($"The cmdlet cannot run because the following parameter is missing: OutFile. Provide a valid OutFile parameter value when using the {(c.PassThru ? "PassThru" : "Resume")} parameter, then retry.", ErrorIds.OutFileMissing);
        }

        return id is null ? null : ValidationError(message!, id);
    }

    private ErrorRecord ValidationError(string message, string id) => new(new ValidationMetadataException(message), id, ErrorCategory.InvalidArgument, cmdlet);

    /// <summary>The -WebSession given, or the new one -SessionVariable names (set now, as Invoke-WebRequest); null when neither.</summary>
    private WebSessionAdapter? PrepareWebSession(bool batch)
    {
        WebSessionAdapter? session = null;
        if (cmdlet.WebSession is not null)
        {
            session = WebSessionAdapter.From(cmdlet.WebSession);
        }
        else if (cmdlet.SessionVariable is not null)
        {
            session = WebSessionAdapter.Create();
            if (session is null)
            {
                Fail(new ErrorRecord(new PlatformNotSupportedException($"This PowerShell has no {WebSessionAdapter.TypeName} to fill -SessionVariable with."), ErrorIds.InvalidWebSession, ErrorCategory.NotImplemented, cmdlet.SessionVariable), batch);
                return null;
            }

            cmdlet.SetVariable(cmdlet.SessionVariable, session.Session);
        }

        if (session is null)
        {
            return null;
        }

        if (cmdlet.Credential is not null && cmdlet.Authentication == WebAuthenticationType.None)
        {
            session.Credentials = cmdlet.Credential.GetNetworkCredential();
            session.UseDefaultCredentials = false;
        }
        else if (cmdlet.UseDefaultCredentials)
        {
            session.UseDefaultCredentials = true;
        }

        if (cmdlet.Certificate is not null)
        {
            session.AddCertificate(cmdlet.Certificate);
        }

        if (cmdlet.MaximumRedirection > -1)
        {
            session.MaximumRedirection = cmdlet.MaximumRedirection;
        }

        if (cmdlet.MaximumRetryCount > 0)
        {
            session.MaximumRetryCount = cmdlet.MaximumRetryCount;
            session.RetryIntervalInSeconds = cmdlet.RetryIntervalSec;
        }

        return session;
    }

    /// <summary>The Authorization header of -Authentication, as Invoke-WebRequest writes it; null without one.</summary>
    private string? Authorization()
    {
        switch (cmdlet.Authentication)
        {
            case WebAuthenticationType.Basic when cmdlet.Credential is { } credential:
                var password = new System.Net.NetworkCredential(string.Empty, credential.Password).Password;
                return "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(credential.UserName + ":" + password));
            case WebAuthenticationType.Bearer or WebAuthenticationType.OAuth when cmdlet.Token is { } token:
                return "Bearer " + new System.Net.NetworkCredential(string.Empty, token).Password;
            default:
                return null;
        }
    }

    /// <summary>How the request reaches the origin: this call's parameters over the WebSession's settings.</summary>
    private TransportSettings Transport(WebSessionAdapter? webSession)
    {
        var certificates = new List<System.Security.Cryptography.X509Certificates.X509Certificate>();
        if (webSession?.Certificates is { } sessionCertificates)
        {
            certificates.AddRange(sessionCertificates.Cast<System.Security.Cryptography.X509Certificates.X509Certificate>());
        }
        else if (cmdlet.Certificate is not null)
        {
            certificates.Add(cmdlet.Certificate);
        }

        if (cmdlet.CertificateThumbprint is { } thumbprint)
        {
            using var store = new System.Security.Cryptography.X509Certificates.X509Store(System.Security.Cryptography.X509Certificates.StoreName.My, System.Security.Cryptography.X509Certificates.StoreLocation.CurrentUser);
            store.Open(System.Security.Cryptography.X509Certificates.OpenFlags.ReadOnly | System.Security.Cryptography.X509Certificates.OpenFlags.OpenExistingOnly);
            var found = store.Certificates.Find(System.Security.Cryptography.X509Certificates.X509FindType.FindByThumbprint, thumbprint, validOnly: false);
            if (found.Count == 0)
            {
                throw new System.Security.Cryptography.CryptographicException("The certificate thumbprint was not found in the current user's personal certificate store.");
            }

            certificates.AddRange(found);
        }

        var credentials = cmdlet.Authentication == WebAuthenticationType.None ? cmdlet.Credential?.GetNetworkCredential() : null;
        credentials ??= webSession?.Credentials as System.Net.NetworkCredential;
        var proxy = cmdlet.Proxy ?? (webSession?.Proxy as System.Net.WebProxy)?.Address;
        var maximumRedirection = cmdlet.MaximumRedirection > -1 ? cmdlet.MaximumRedirection : webSession?.MaximumRedirection ?? -1;
        var retries = cmdlet.MaximumRetryCount > 0 ? cmdlet.MaximumRetryCount : webSession?.MaximumRetryCount ?? 0;
        var interval = cmdlet.MaximumRetryCount > 0 ? cmdlet.RetryIntervalSec : webSession?.RetryIntervalInSeconds ?? cmdlet.RetryIntervalSec;
        return new TransportSettings
        {
            SkipCertificateCheck = cmdlet.SkipCertificateCheck,
            ClientCertificates = certificates.Count == 0 ? null : certificates,
            Credentials = credentials,
            UseDefaultCredentials = credentials is null && (cmdlet.UseDefaultCredentials || webSession?.UseDefaultCredentials == true),
            Proxy = cmdlet.NoProxy ? null : proxy,
            ProxyCredentials = cmdlet.ProxyCredential?.GetNetworkCredential(),
            ProxyUseDefaultCredentials = cmdlet.ProxyUseDefaultCredentials,
            NoProxy = cmdlet.NoProxy,
            SslProtocols = (System.Security.Authentication.SslProtocols)(int)cmdlet.SslProtocol,
            UnixSocket = cmdlet.UnixSocket,
            ConnectTimeout = cmdlet.ConnectionTimeoutSeconds > 0 ? TimeSpan.FromSeconds(cmdlet.ConnectionTimeoutSeconds) : null,
            MaximumRedirection = maximumRedirection > -1 ? maximumRedirection : null,
            AllowInsecureRedirect = cmdlet.AllowInsecureRedirect,
            PreserveAuthorizationOnRedirect = cmdlet.PreserveAuthorizationOnRedirect && headersHaveAuthorization(),
            PreserveHttpMethodOnRedirect = cmdlet.PreserveHttpMethodOnRedirect,
            MaximumRetryCount = retries,
            RetryInterval = TimeSpan.FromSeconds(Math.Max(1, interval)),
        };

        bool headersHaveAuthorization() => cmdlet.Authentication != WebAuthenticationType.None
            || (cmdlet.Headers?.Contains("Authorization") ?? false)
            || (webSession?.Headers.ContainsKey("Authorization") ?? false);
    }

    /// <summary>
    /// Sends one request and reads its answer, on any thread. Failures become the error record the cmdlet
    /// reports; only a stop of the pipeline (<paramref name="stop"/>) escapes, as an OperationCanceledException.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static Task<Outcome> SendAsync(PreparedRequest item, int timeoutSec, int operationSec, CancellationToken stop)
    {
        if (timeoutSec > 0 || operationSec > 0 || item.StreamToFile)
        {
            return SendAsync(item, timeoutSec, operationSec, stop, sent: null);
        }

        // A hit from a store that answers at once comes back completed, its body in memory: the outcome is built here,
        // without a state machine.
        Task<HttpResponseMessage> sent;
        try
        {
            sent = item.Session.Engine.SendAsync(item.Request, item.Options, HttpCompletionOption.ResponseHeadersRead, stop);
        }
        catch (Exception ex)
        {
            sent = Task.FromException<HttpResponseMessage>(ex);
        }

        if (sent.IsCompletedSuccessfully && sent.Result is { Content: ByteArrayContent content } response)
        {
            return Task.FromResult(Answered(item, response, ReadAtOnce(content)));
        }

        return SendAsync(item, timeoutSec, operationSec, stop, sent);
    }

    /// <summary>The same, awaiting what <paramref name="sent"/> (when given) or a new send answers.</summary>
    private static async Task<Outcome> SendAsync(PreparedRequest item, int timeoutSec, int operationSec, CancellationToken stop, Task<HttpResponseMessage>? sent)
    {
        // -OperationTimeoutSeconds bounds the whole exchange, body included; -ConnectionTimeoutSeconds (applied by
        // the engine, so a stale answer can stand in) the wait for the answer, with a grace for the body.
        using var deadline = timeoutSec > 0 || operationSec > 0 ? CancellationTokenSource.CreateLinkedTokenSource(stop) : null;
        deadline?.CancelAfter(operationSec > 0 ? TimeSpan.FromSeconds(operationSec) : TimeSpan.FromSeconds(timeoutSec) + DeadlineGrace);
        timeoutSec = operationSec > 0 ? operationSec : timeoutSec;
        var token = deadline?.Token ?? stop;
        try
        {
            // Headers first either way: the body is read here, once, straight into the array the answer keeps.
            var response = await (sent ?? item.Session.Engine.SendAsync(item.Request, item.Options, HttpCompletionOption.ResponseHeadersRead, token)).ConfigureAwait(false);
            if (item.StreamToFile && response.IsSuccessStatusCode && response.Content is not null)
            {
                using (response)
                {
                    if (await StreamToFileAsync(item, response.Content, token).ConfigureAwait(false) is { } writeFailure)
                    {
                        return new Outcome(item, null, writeFailure);
                    }

                    return new Outcome(item, new CachedResponse(response, [], response.GetCacheInfo(), item.Request.Method.Method, item.Uri.AbsoluteUri) { OutFile = item.OutFile }, null, WrittenToFile: true);
                }
            }

            // The body is read whole, so the message holds no connection: it stays readable as BaseResponse and
            // as the exception's Response, as Invoke-WebRequest's.
            byte[] body;
            try
            {
                body = response.Content switch
                {
                    null => [],
                    ByteArrayContent stored => ReadAtOnce(stored),
                    var content => await ReadBodyAsync(content, token).ConfigureAwait(false),
                };
            }
            catch
            {
                response.Dispose();
                throw;
            }

            return Answered(item, response, body);
        }
        catch (OperationCanceledException ex) when (!stop.IsCancellationRequested && deadline?.IsCancellationRequested == true)
        {
            return new Outcome(item, null, Timeout(item, timeoutSec, ex));
        }
        catch (TimeoutException ex) when (!stop.IsCancellationRequested)
        {
            // The engine's own timeout, with no stale answer to fall back to.
            return new Outcome(item, null, Timeout(item, timeoutSec, ex));
        }
        catch (HttpRequestException ex) when (!stop.IsCancellationRequested)
        {
            return new Outcome(item, null, new ErrorRecord(ex, ErrorIds.RequestFailed, ErrorCategory.ConnectionError, item.Uri));
        }
        catch (Exception ex) when (!stop.IsCancellationRequested && Errors.FromEngine(ex, item.Session) is { } record)
        {
            return new Outcome(item, null, record);
        }
    }

    private static Outcome Answered(PreparedRequest item, HttpResponseMessage response, byte[] body)
        => new(item, new CachedResponse(response, body, response.GetCacheInfo(), item.Request.Method.Method, item.Uri.AbsoluteUri) { OutFile = item.OutFile }, null);

    /// <summary>A body already in memory (a stored answer's), copied into an array of its own at once.</summary>
    private static byte[] ReadAtOnce(ByteArrayContent content)
    {
        var stream = content.ReadAsStream();
        var body = stream.Length == 0 ? [] : new byte[stream.Length];
        stream.ReadExactly(body);
        return body;
    }

    /// <summary>
    /// Reads the whole body into one array of its exact size when its length is known (a stored body, a
    /// Content-Length), with no intermediate buffer. It always reads on to the end of the stream: the cache
    /// commits an origin's body to the store only when its reader reaches the end.
    /// </summary>
    private static async Task<byte[]> ReadBodyAsync(HttpContent content, CancellationToken token)
    {
        var stream = await content.ReadAsStreamAsync(token).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var known = stream.CanSeek ? stream.Length - stream.Position : content.Headers.ContentLength;
            if (known is not long length || length > Array.MaxLength)
            {
                return await ReadToEndAsync(stream, [], token).ConfigureAwait(false);
            }

            var body = length == 0 ? [] : new byte[length];
            var read = 0;
            while (read < body.Length)
            {
                var n = await stream.ReadAsync(body.AsMemory(read), token).ConfigureAwait(false);
                if (n == 0)
                {
                    // A stream that ends before its announced length without failing (the network's do fail): keep what came.
                    return body.AsSpan(0, read).ToArray();
                }

                read += n;
            }

            return await ReadToEndAsync(stream, body, token).ConfigureAwait(false);
        }
    }

    /// <summary>Appends whatever the stream still holds to <paramref name="prefix"/>; the prefix itself when it holds nothing.</summary>
    private static async Task<byte[]> ReadToEndAsync(Stream stream, byte[] prefix, CancellationToken token)
    {
        using var rest = new MemoryStream();
        if (prefix.Length != 0)
        {
            var probe = new byte[1];
            if (await stream.ReadAsync(probe, token).ConfigureAwait(false) == 0)
            {
                return prefix;
            }

            rest.Write(prefix);
            rest.Write(probe);
        }

        await stream.CopyToAsync(rest, token).ConfigureAwait(false);
        return rest.ToArray();
    }

    /// <summary>
    /// Copies the body to -OutFile as it arrives; a failure to write the file is the error returned. A cached body
    /// found damaged at its end (the engine has removed the entry by then) takes the file with it: -OutFile never
    /// keeps bytes the cache could not vouch for.
    /// </summary>
    private static async Task<ErrorRecord?> StreamToFileAsync(PreparedRequest item, HttpContent content, CancellationToken token)
    {
        var body = await content.ReadAsStreamAsync(token).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            FileStream file;
            try
            {
                // Unbuffered and synchronous: each piece goes to the file in one call from the copy's buffer. Emptied
                // only when it holds bytes: FileMode.Create truncates a new file too, and ext4 then writes the whole
                // file back inside its close (auto_da_alloc), 0.4 s for a gigabyte (docs/performance.md).
                file = new FileStream(item.OutFile!, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, bufferSize: 0);
                try
                {
                    if (file.Length > 0)
                    {
                        file.SetLength(0);
                    }
                }
                catch
                {
                    file.Dispose();
                    throw;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
            {
                return new ErrorRecord(ex, ErrorIds.OutFileWriteFailed, ErrorCategory.WriteError, item.OutFile);
            }

            try
            {
                using (file)
                {
                    // Read errors (the origin dropping) surface as HttpIOException to the caller's handlers.
                    await OutFileCopy.CopyAsync(body, file, token).ConfigureAwait(false);
                }
            }
            catch (OutFileWriteException ex)
            {
                return new ErrorRecord(ex.InnerException!, ErrorIds.OutFileWriteFailed, ErrorCategory.WriteError, item.OutFile);
            }
            catch (CachedBodyDamagedException ex)
            {
                try
                {
                    File.Delete(item.OutFile!);
                }
                catch (Exception deleteFailed) when (deleteFailed is IOException or UnauthorizedAccessException)
                {
                    // Reported below with the damage: the file holds what the cache served, and the error says it is bad.
                }

                return new ErrorRecord(ex, ErrorIds.CachedBodyDamaged, ErrorCategory.InvalidData, item.Uri);
            }
        }

        return null;
    }

    private static ErrorRecord Timeout(PreparedRequest item, int timeoutSec, Exception inner) => new(
        new TimeoutException(string.Format(CultureInfo.InvariantCulture, "The request to '{0}' timed out after {1} seconds (-ConnectionTimeoutSeconds, -OperationTimeoutSeconds).", item.Uri, timeoutSec), inner),
        ErrorIds.RequestTimeout,
        ErrorCategory.OperationTimeout,
        item.Uri);

    /// <summary>Fetches the collected requests, -ThrottleLimit at a time, writing each outcome as it arrives.</summary>
    private void RunBatch()
    {
        var items = pending.ToArray();
        var total = items.Length;
        var limit = cmdlet.ThrottleLimit;
        var timeoutSec = cmdlet.ConnectionTimeoutSeconds;
        var operationSec = cmdlet.OperationTimeoutSeconds;
        using var batchStop = CancellationTokenSource.CreateLinkedTokenSource(engine.Token);
        var token = batchStop.Token;
        using var gate = new SemaphoreSlim(limit, limit);
        using var outcomes = new BlockingCollection<Outcome>();

        var workers = items.Select(item => Task.Run(async () =>
        {
            Outcome outcome;
            try
            {
                await gate.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    outcome = await SendAsync(item, timeoutSec, operationSec, token).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return; // stopping: nobody reads any more
            }
            catch (Exception ex)
            {
                // Anything the request path did not expect is still this URI's failure alone.
                outcome = new Outcome(item, null, new ErrorRecord(ex, ErrorIds.RequestFailed, ErrorCategory.NotSpecified, item.Uri));
            }

            outcomes.Add(outcome, CancellationToken.None);
        }, CancellationToken.None)).ToArray();
        var allDone = Task.WhenAll(workers).ContinueWith(_ => outcomes.CompleteAdding(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        var activity = string.Format(CultureInfo.InvariantCulture, "Fetching {0} URLs through the cache, {1} at a time", total, limit);
        var done = 0;
        var failed = 0;
        try
        {
            cmdlet.WriteProgress(new ProgressRecord(ProgressActivityId, activity, string.Format(CultureInfo.InvariantCulture, "0 of {0}", total)) { PercentComplete = 0 });
            foreach (var outcome in outcomes.GetConsumingEnumerable(token))
            {
                done++;
                using (outcome.Item)
                {
                    if (!Complete(outcome, batch: true))
                    {
                        failed++;
                    }
                }

                cmdlet.WriteProgress(new ProgressRecord(ProgressActivityId, activity, string.Format(CultureInfo.InvariantCulture, "{0} of {1}{2}", done, total, failed > 0 ? $", {failed} failed" : string.Empty))
                {
                    PercentComplete = done * 100 / total,
                    CurrentOperation = outcome.Item.Uri.AbsoluteUri,
                });
            }

            cmdlet.WriteProgress(new ProgressRecord(ProgressActivityId, activity, "Done") { RecordType = ProgressRecordType.Completed });
            cmdlet.WriteVerbose(string.Format(CultureInfo.InvariantCulture, "Fetched {0} URLs ({1} failed) with -ThrottleLimit {2}.", total, failed, limit));
        }
        catch (OperationCanceledException) when (engine.IsStopping)
        {
            throw new PipelineStoppedException();
        }
        finally
        {
            // A stop, a downstream Select-Object -First, or -ErrorAction Stop: the requests still running end now.
            batchStop.Cancel();
            try
            {
                allDone.Wait(TimeSpan.FromSeconds(10));
            }
            catch (AggregateException)
            {
                // The workers catch everything; nothing to report here.
            }

            foreach (var item in items)
            {
                item.Dispose();
            }

            pending.Clear();
        }
    }

    /// <summary>Reports one outcome on the pipeline thread; false when it was a failure.</summary>
    private bool Complete(Outcome outcome, bool batch)
    {
        if (outcome.Item.Session.TakeScriptWarning() is { } scriptWarning)
        {
            cmdlet.WriteWarning(scriptWarning);
        }

        if (outcome.Error is { } error)
        {
            Fail(error, batch);
            return false;
        }

        var result = outcome.Response!;
        if (result.Info is { } info && (info.HasWarnings || VerboseShown))
        {
            foreach (var diagnostic in info.Diagnostics)
            {
                if (diagnostic.Level == CacheDiagnosticLevel.Warning)
                {
                    cmdlet.WriteWarning(diagnostic.Message);
                }
                else if (VerboseShown)
                {
                    cmdlet.WriteVerbose(diagnostic.Message);
                }
            }
        }

        if (outcome.Item.WebSession is { } webSession && result.Headers.TryGetValue("Set-Cookie", out var setCookies))
        {
            // The cookie jar fills as Invoke-WebRequest's handler fills it, from the answer given (stored or not).
            var cookieUri = new Uri(result.Uri);
            foreach (var setCookie in setCookies)
            {
                try
                {
                    webSession.Cookies.SetCookies(cookieUri, setCookie);
                }
                catch (System.Net.CookieException)
                {
                    // As the handler: a cookie it cannot read is dropped.
                }
            }
        }

        var success = result.StatusCode is >= 200 and <= 299;
        cmdlet.InvokeOnAnswer(result, failing: !success && !cmdlet.SkipHttpErrorCheck);
        var resumed = outcome.Item.RangeFrom is not null;
        if (resumed && result.StatusCode == 416
            && result.BaseResponse.Content?.Headers.ContentRange is { HasLength: true } range && range.Length == outcome.Item.RangeFrom)
        {
            // -Resume of a file already whole: nothing to write, as Invoke-WebRequest.
            cmdlet.WriteVerbose($"The file '{outcome.Item.OutFile}' is already complete; nothing written.");
            return true;
        }

        if (!cmdlet.AllowInsecureRedirect && result.Uri.StartsWith("https:", StringComparison.OrdinalIgnoreCase)
            && result.BaseResponse.Headers.Location is { IsAbsoluteUri: true } location && location.Scheme == System.Uri.UriSchemeHttp)
        {
            var insecure = new ErrorRecord(new InvalidOperationException(), ErrorIds.InsecureRedirection, ErrorCategory.InvalidOperation, outcome.Item.Request);
            insecure.ErrorDetails = new ErrorDetails("Redirecting from HTTPS to HTTP is insecure. Use -AllowInsecureRedirect to follow it.");
            Fail(insecure, batch);
            return false;
        }

        if (!success && !cmdlet.SkipHttpErrorCheck)
        {
            // As Invoke-WebRequest, so that its catch blocks work unchanged: PowerShell's HttpResponseException
            // carrying the HttpResponseMessage, its ErrorId and category, the origin's words in ErrorDetails.
            // The target is the URL (Invoke-WebRequest's is the request message): what a -ThrottleLimit batch reports failed.
            var record = new ErrorRecord(CachedResponseException.For(result), ErrorIds.WebCmdletWebResponseException, ErrorCategory.InvalidOperation, outcome.Item.Uri);
            if (ErrorDetailsText(result) is { Length: > 0 } details)
            {
                record.ErrorDetails = new ErrorDetails(details);
            }

            Fail(record, batch);
            return false;
        }

        if (outcome.Item.OutFile is { } path)
        {
            try
            {
                if (!outcome.WrittenToFile)
                {
                    if (resumed && result.StatusCode == 206)
                    {
                        using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.None);
                        file.Write(result.Body);
                    }
                    else
                    {
                        File.WriteAllBytes(path, result.Body);
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
            {
                Fail(new ErrorRecord(ex, ErrorIds.OutFileWriteFailed, ErrorCategory.WriteError, path), batch);
                return false;
            }

            if (!cmdlet.PassThru)
            {
                return true;
            }
        }

        cmdlet.InvokeWriteAnswer(result);
        if (cmdlet.MaximumRedirection == 0 && result.StatusCode is 300 or 301 or 302 or 303 or 307 or 308)
        {
            var exceeded = new ErrorRecord(new InvalidOperationException(), ErrorIds.MaximumRedirectExceeded, ErrorCategory.InvalidOperation, outcome.Item.Request);
            exceeded.ErrorDetails = new ErrorDetails("The maximum redirection count has been exceeded. To increase the number of redirections allowed, supply a higher value to the -MaximumRedirection parameter.");
            cmdlet.WriteError(exceeded);
        }

        return true;
    }

    /// <summary>The body as Invoke-WebRequest puts it in ErrorDetails: JSON and XML indented, HTML without its tags.</summary>
    private static string ErrorDetailsText(CachedResponse result)
    {
        var text = result.Text;
        if (text.Length == 0)
        {
            return text;
        }

        var media = result.BaseResponse.Content?.Headers.ContentType?.MediaType?.ToLowerInvariant() ?? string.Empty;
        try
        {
            if (media is "application/xml" or "text/xml" || media.EndsWith("+xml", StringComparison.Ordinal))
            {
                var document = new System.Xml.XmlDocument { XmlResolver = null };
                document.LoadXml(text);
                var builder = new System.Text.StringBuilder();
                using (var writer = System.Xml.XmlWriter.Create(builder, new System.Xml.XmlWriterSettings { Indent = true, NewLineOnAttributes = true, OmitXmlDeclaration = true }))
                {
                    document.Save(writer);
                }

                return Environment.NewLine + builder;
            }

            if (media is "application/json" or "text/json" or "application/x-javascript" or "text/x-javascript" or "application/javascript" or "text/javascript" || media.EndsWith("+json", StringComparison.Ordinal))
            {
                var node = System.Text.Json.Nodes.JsonNode.Parse(text);
                return Environment.NewLine + (node?.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) ?? "null");
            }
        }
        catch (Exception ex) when (ex is System.Xml.XmlException or System.Text.Json.JsonException)
        {
            // Not what its type says: shown as text, like any other body.
        }

        return System.Text.RegularExpressions.Regex.Replace(text, "<[^>]*>", string.Empty);
    }

    /// <summary>One failure: the command's end without -ThrottleLimit (as Invoke-WebRequest), this URI's alone with it.</summary>
    private void Fail(ErrorRecord record, bool batch)
    {
        if (batch)
        {
            cmdlet.WriteError(record);
        }
        else
        {
            cmdlet.ThrowTerminatingError(record);
        }
    }

    /// <summary>A request ready to send, with everything the pipeline item said about it.</summary>
    private sealed class PreparedRequest(Uri uri, CacheSession session, HttpRequestMessage request, CacheRequestOptions options, string? outFile, bool streamToFile, WebSessionAdapter? webSession = null, long? rangeFrom = null) : IDisposable
    {
        /// <summary>The -WebSession (or -SessionVariable's new one) whose cookie jar the answer fills.</summary>
        public WebSessionAdapter? WebSession { get; } = webSession;

        /// <summary>-Resume: the bytes -OutFile already held, asked for from there on.</summary>
        public long? RangeFrom { get; } = rangeFrom;

        /// <summary>-OutFile without -PassThru: the body goes to the file as it arrives, never whole in memory.</summary>
        public bool StreamToFile { get; } = streamToFile;

        public Uri Uri { get; } = uri;

        public CacheSession Session { get; } = session;

        public HttpRequestMessage Request { get; } = request;

        public CacheRequestOptions Options { get; } = options;

        public string? OutFile { get; } = outFile;

        public void Dispose() => Request.Dispose();
    }

    /// <summary>How one request ended: an answer, or the error record to report.</summary>
    private sealed record Outcome(PreparedRequest Item, CachedResponse? Response, ErrorRecord? Error, bool WrittenToFile = false);
}

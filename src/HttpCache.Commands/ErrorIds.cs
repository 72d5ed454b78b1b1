namespace HttpCache.Commands;

/// <summary>
/// Every ErrorId the module's cmdlets report, in one place: tests assert them through
/// <c>FullyQualifiedErrorId</c> (<c>InvalidUri,HttpCache.Commands.InvokeCachedWebRequestCommand</c>), and
/// users filter on them, so they are a contract: add, never rename.
/// </summary>
internal static class ErrorIds
{
    /// <summary>-Uri is not an absolute http(s) URL.</summary>
    public const string InvalidUri = nameof(InvalidUri);

    /// <summary>-Method is not an HTTP method token.</summary>
    public const string InvalidMethod = nameof(InvalidMethod);

    /// <summary>-Body or -Headers cannot be turned into a request.</summary>
    public const string InvalidRequest = nameof(InvalidRequest);

    /// <summary>The request failed before an answer came: DNS, connection, TLS, a dropped connection.</summary>
    public const string RequestFailed = nameof(RequestFailed);

    /// <summary>-TimeoutSec elapsed before the answer came.</summary>
    public const string RequestTimeout = nameof(RequestTimeout);

    /// <summary>-OutFile could not be written.</summary>
    public const string OutFileWriteFailed = nameof(OutFileWriteFailed);

    /// <summary>A cached body streamed to -OutFile turned out damaged at its end: the entry and the file were removed.</summary>
    public const string CachedBodyDamaged = nameof(CachedBodyDamaged);

    /// <summary>The cache store cannot be opened or used (unwritable path, locked, not a cache file).</summary>
    public const string CacheStoreUnavailable = nameof(CacheStoreUnavailable);

    /// <summary>The options given to New-HttpCacheSession do not fit together (e.g. -Path with -Backend Memory).</summary>
    public const string InvalidSessionOption = nameof(InvalidSessionOption);

    /// <summary>The session was disposed.</summary>
    public const string SessionDisposed = nameof(SessionDisposed);

    /// <summary>Enable-HttpCache or Use-HttpCache met a function of the user's own named Invoke-WebRequest or Invoke-RestMethod in that scope.</summary>
    public const string DropInFunctionExists = nameof(DropInFunctionExists);

    /// <summary>Get-HttpCacheSession -Name names no open session (a name without wildcards).</summary>
    public const string SessionNotFound = nameof(SessionNotFound);

    /// <summary>An expiration that cannot be used here (DoNotCache on stored entries).</summary>
    public const string InvalidExpiration = nameof(InvalidExpiration);

    /// <summary>A -Key, a literal -Uri or a piped entry names no stored entry.</summary>
    public const string EntryNotFound = nameof(EntryNotFound);

    /// <summary>Remove-HttpCacheEntry was given no filter at all.</summary>
    public const string FilterRequired = nameof(FilterRequired);

    /// <summary>A -UrlExpireAfter key is not a glob, a [regex] or a 'regex:' string that parses.</summary>
    public const string InvalidUrlPattern = nameof(InvalidUrlPattern);

    /// <summary>-TimeZone names no time zone this system knows.</summary>
    public const string InvalidTimeZone = nameof(InvalidTimeZone);

    /// <summary>-RedisConnection is not a StackExchange.Redis connection the module can use.</summary>
    public const string InvalidRedisConnection = nameof(InvalidRedisConnection);

    /// <summary>A session's -ExpireAfterScript failed for one answer (kept in the session's LastScriptError).</summary>
    public const string ExpireAfterScriptFailed = nameof(ExpireAfterScriptFailed);

    /// <summary>A session's -StorePredicate failed for one answer (kept in the session's LastScriptError).</summary>
    public const string StorePredicateFailed = nameof(StorePredicateFailed);

    /// <summary>Parameters that cannot be used together (e.g. -OutFile with -ThrottleLimit, one file for many answers).</summary>
    public const string ConflictingParameters = nameof(ConflictingParameters);

    // Invoke-WebRequest's own ErrorIds, so that scripts filtering on them work with the cached twins unchanged.

    /// <summary>The origin (or the cache, for -OnlyIfCached) answered with a status outside 200-299; also a request that failed on the way.</summary>
    public const string WebCmdletWebResponseException = nameof(WebCmdletWebResponseException);

    /// <summary>-WebSession and -SessionVariable together.</summary>
    public const string SessionConflict = "WebCmdletSessionConflictException";

    /// <summary>-Authentication with -UseDefaultCredentials.</summary>
    public const string AuthenticationConflict = "WebCmdletAuthenticationConflictException";

    /// <summary>-Authentication with both -Token and -Credential.</summary>
    public const string AuthenticationTokenConflict = "WebCmdletAuthenticationTokenConflictException";

    /// <summary>-Authentication Basic without -Credential.</summary>
    public const string AuthenticationCredentialNotSupplied = "WebCmdletAuthenticationCredentialNotSuppliedException";

    /// <summary>-Authentication Bearer or OAuth without -Token.</summary>
    public const string AuthenticationTokenNotSupplied = "WebCmdletAuthenticationTokenNotSuppliedException";

    /// <summary>Credentials over plain http without -AllowUnencryptedAuthentication.</summary>
    public const string AllowUnencryptedAuthenticationRequired = "WebCmdletAllowUnencryptedAuthenticationRequiredException";

    /// <summary>-Credential with -UseDefaultCredentials.</summary>
    public const string CredentialConflict = "WebCmdletCredentialConflictException";

    /// <summary>-ProxyCredential with -ProxyUseDefaultCredentials.</summary>
    public const string ProxyCredentialConflict = "WebCmdletProxyCredentialConflictException";

    /// <summary>-ProxyCredential or -ProxyUseDefaultCredentials without -Proxy.</summary>
    public const string ProxyUriNotSupplied = "WebCmdletProxyUriNotSuppliedException";

    /// <summary>-Body with -InFile.</summary>
    public const string BodyConflict = "WebCmdletBodyConflictException";

    /// <summary>-Body with -Form.</summary>
    public const string BodyFormConflict = "WebCmdletBodyFormConflictException";

    /// <summary>-InFile with -Form.</summary>
    public const string FormInFileConflict = "WebCmdletFormInFileConflictException";

    /// <summary>-PassThru or -Resume without -OutFile.</summary>
    public const string OutFileMissing = "WebCmdletOutFileMissingException";

    /// <summary>A client certificate that cannot be found or used.</summary>
    public const string WebCmdletCertificateException = nameof(WebCmdletCertificateException);

    /// <summary>An https answer redirects to http and -AllowInsecureRedirect was not given.</summary>
    public const string InsecureRedirection = nameof(InsecureRedirection);

    /// <summary>-MaximumRedirection 0 and the answer is a redirect (written after the answer, as Invoke-WebRequest).</summary>
    public const string MaximumRedirectExceeded = nameof(MaximumRedirectExceeded);

    /// <summary>-WebSession is not a WebRequestSession, or the host has none for -SessionVariable.</summary>
    public const string InvalidWebSession = nameof(InvalidWebSession);

    /// <summary>-InFile names no file.</summary>
    public const string InFileNotFound = "WebCmdletInFileNotFilePathException";
}

using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace HttpCache.Engine.Http;

/// <summary>
/// How one request reaches the origin: the connection settings of Invoke-WebRequest (certificates, proxy,
/// TLS, Unix socket, redirects, connect timeout, handler-level credentials) and its retries. Requests with
/// equal <see cref="PoolKey"/> share one pooled handler (<see cref="TransportHandler"/>); retries are per request.
/// </summary>
public sealed record TransportSettings
{
    /// <summary>The system defaults: decompression, redirects followed by the handler, the system proxy.</summary>
    public static TransportSettings Default { get; } = new();

    /// <summary>Accepts any server certificate (Invoke-WebRequest's -SkipCertificateCheck).</summary>
    public bool SkipCertificateCheck { get; init; }

    /// <summary>Client certificates offered to the server.</summary>
    public IReadOnlyList<X509Certificate>? ClientCertificates { get; init; }

    /// <summary>Credentials the handler answers authentication challenges with (-Credential without -Authentication).</summary>
    public NetworkCredential? Credentials { get; init; }

    /// <summary>Answers challenges with the user's default credentials.</summary>
    public bool UseDefaultCredentials { get; init; }

    /// <summary>An explicit proxy; null: the system proxy (unless <see cref="NoProxy"/>).</summary>
    public Uri? Proxy { get; init; }

    /// <summary>The proxy's credentials.</summary>
    public NetworkCredential? ProxyCredentials { get; init; }

    /// <summary>The proxy takes the user's default credentials.</summary>
    public bool ProxyUseDefaultCredentials { get; init; }

    /// <summary>Connects directly, even when the system names a proxy.</summary>
    public bool NoProxy { get; init; }

    /// <summary>The TLS versions allowed; <see cref="SslProtocols.None"/>: the system's choice.</summary>
    public SslProtocols SslProtocols { get; init; }

    /// <summary>Connects through this Unix domain socket instead of TCP.</summary>
    public UnixDomainSocketEndPoint? UnixSocket { get; init; }

    /// <summary>How long establishing a connection may take; null: no limit.</summary>
    public TimeSpan? ConnectTimeout { get; init; }

    /// <summary>Redirects followed at most; null: the handler's default (50), 0: none.</summary>
    public int? MaximumRedirection { get; init; }

    /// <summary>Follows an https-to-http redirect (the handler refuses to).</summary>
    public bool AllowInsecureRedirect { get; init; }

    /// <summary>Keeps the Authorization header on a redirect (the handler drops it).</summary>
    public bool PreserveAuthorizationOnRedirect { get; init; }

    /// <summary>Keeps the method and body on a 301/302/303 redirect (the handler turns a POST into a GET).</summary>
    public bool PreserveHttpMethodOnRedirect { get; init; }

    /// <summary>Retries after a 304 or 4xx/5xx answer, as Invoke-WebRequest's -MaximumRetryCount; 0: none.</summary>
    public int MaximumRetryCount { get; init; }

    /// <summary>The wait between retries; a 429's Retry-After (seconds) overrides it.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// True when redirects are followed by <see cref="TransportHandler"/> rather than the network handler, as
    /// Invoke-WebRequest does when one of the redirect switches asks for what the handler cannot do.
    /// </summary>
    internal bool FollowsRedirectsItself => AllowInsecureRedirect || PreserveAuthorizationOnRedirect || PreserveHttpMethodOnRedirect;

    /// <summary>
    /// What decides which pooled handler serves the request: every connection setting, secrets as digests.
    /// Retries and redirect switches that the pool's handler does not see are left out.
    /// </summary>
    internal string PoolKey
    {
        get
        {
            var key = new StringBuilder();
            key.Append(SkipCertificateCheck ? 'k' : '-').Append('\x1e');
            foreach (var certificate in ClientCertificates ?? [])
            {
                key.Append(certificate.GetCertHashString()).Append(',');
            }

            key.Append('\x1e').Append(Secret(Credentials)).Append('\x1e').Append(UseDefaultCredentials)
                .Append('\x1e').Append(Proxy?.AbsoluteUri).Append('\x1e').Append(Secret(ProxyCredentials))
                .Append('\x1e').Append(ProxyUseDefaultCredentials).Append('\x1e').Append(NoProxy)
                .Append('\x1e').Append((int)SslProtocols).Append('\x1e').Append(UnixSocket?.ToString())
                .Append('\x1e').Append(ConnectTimeout?.Ticks).Append('\x1e').Append(FollowsRedirectsItself ? "self" : MaximumRedirection?.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return key.ToString();
        }
    }

    /// <summary>
    /// Who the handler-level settings make the caller: the credentials and client certificates, as text the
    /// cache keys as a credential (digested, never stored); null when they name nobody.
    /// </summary>
    public string? CallerIdentity
    {
        get
        {
            var parts = new List<string>();
            if (Credentials is not null)
            {
                parts.Add("credential:" + Credentials.Domain + "\\" + Credentials.UserName + ":" + Secret(Credentials));
            }

            if (UseDefaultCredentials)
            {
                parts.Add("default-credentials:" + Environment.UserDomainName + "\\" + Environment.UserName);
            }

            foreach (var certificate in ClientCertificates ?? [])
            {
                parts.Add("certificate:" + certificate.GetCertHashString());
            }

            return parts.Count == 0 ? null : string.Join("\n", parts);
        }
    }

    private static string Secret(NetworkCredential? credential) => credential is null
        ? string.Empty
        : Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(credential.Domain + "\\" + credential.UserName + "\x1f" + credential.Password)));
}

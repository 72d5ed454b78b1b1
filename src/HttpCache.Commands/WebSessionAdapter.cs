using System.Management.Automation;
using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace HttpCache.Commands;

/// <summary>
/// Reads and fills an Invoke-WebRequest session (<c>Microsoft.PowerShell.Commands.WebRequestSession</c>) for
/// -WebSession and -SessionVariable. PowerShell Standard, which the module compiles against, lacks the type, so
/// it is reached through its public properties at run time (it exists in every PowerShell the module loads in).
/// </summary>
internal sealed class WebSessionAdapter
{
    internal const string TypeName = "Microsoft.PowerShell.Commands.WebRequestSession";

    private readonly object session;

    private WebSessionAdapter(object session) => this.session = session;

    /// <summary>The session object itself, for $SessionVariable.</summary>
    public object Session => session;

    /// <summary>Wraps a given -WebSession; null when it is not a WebRequestSession.</summary>
    public static WebSessionAdapter? From(object? value)
    {
        value = value is PSObject wrapped ? wrapped.BaseObject : value;
        return value?.GetType().FullName == TypeName ? new WebSessionAdapter(value) : null;
    }

    /// <summary>A new, empty WebRequestSession of the running PowerShell; null if it has none.</summary>
    public static WebSessionAdapter? Create()
    {
        var type = typeof(PSObject).Assembly.GetType(TypeName)
            ?? Type.GetType(TypeName + ", Microsoft.PowerShell.Commands.Utility", throwOnError: false);
        return type is null ? null : new WebSessionAdapter(Activator.CreateInstance(type)!);
    }

    public Dictionary<string, string> Headers => Get<Dictionary<string, string>>(nameof(Headers)) ?? [];

    public CookieContainer Cookies
    {
        get
        {
            if (Get<CookieContainer>(nameof(Cookies)) is { } cookies)
            {
                return cookies;
            }

            var created = new CookieContainer();
            Set(nameof(Cookies), created);
            return created;
        }
    }

    public string? UserAgent
    {
        get => Get<string>(nameof(UserAgent));
        set => Set(nameof(UserAgent), value);
    }

    public ICredentials? Credentials
    {
        get => Get<ICredentials>(nameof(Credentials));
        set => Set(nameof(Credentials), value);
    }

    public bool UseDefaultCredentials
    {
        get => Get<bool?>(nameof(UseDefaultCredentials)) ?? false;
        set => Set(nameof(UseDefaultCredentials), value);
    }

    public X509CertificateCollection? Certificates => Get<X509CertificateCollection>(nameof(Certificates));

    public IWebProxy? Proxy => Get<IWebProxy>(nameof(Proxy));

    public int MaximumRedirection
    {
        get => Get<int?>(nameof(MaximumRedirection)) ?? -1;
        set => Set(nameof(MaximumRedirection), value);
    }

    public int MaximumRetryCount
    {
        get => Get<int?>(nameof(MaximumRetryCount)) ?? 0;
        set => Set(nameof(MaximumRetryCount), value);
    }

    public int RetryIntervalInSeconds
    {
        get => Get<int?>(nameof(RetryIntervalInSeconds)) ?? 5;
        set => Set(nameof(RetryIntervalInSeconds), value);
    }

    public void AddCertificate(X509Certificate certificate)
    {
        var certificates = Certificates;
        if (certificates is null)
        {
            certificates = [];
            Set(nameof(Certificates), certificates);
        }

        certificates.Add(certificate);
    }

    private T? Get<T>(string name) => session.GetType().GetProperty(name)?.GetValue(session) is T value ? value : default;

    private void Set(string name, object? value)
    {
        var property = session.GetType().GetProperty(name);
        if (property?.CanWrite == true)
        {
            property.SetValue(session, value);
        }
    }
}

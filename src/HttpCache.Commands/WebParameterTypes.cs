using System.Management.Automation;
using System.Security.Authentication;

namespace HttpCache;

/// <summary>
/// The values of -Authentication, named and numbered as Invoke-WebRequest's
/// <c>Microsoft.PowerShell.Commands.WebAuthenticationType</c>. The module compiles against PowerShell
/// Standard, which lacks that type, so it has its own: PowerShell converts the built-in enum, its name or
/// its number to this one, so scripts written for Invoke-WebRequest bind unchanged.
/// </summary>
public enum WebAuthenticationType
{
    /// <summary>No authentication (the default).</summary>
    None,

    /// <summary>RFC 7617 Basic: needs -Credential.</summary>
    Basic,

    /// <summary>RFC 6750 Bearer: needs -Token.</summary>
    Bearer,

    /// <summary>As Bearer: needs -Token.</summary>
    OAuth,
}

/// <summary>
/// The values of -SslProtocol, named and numbered as Invoke-WebRequest's
/// <c>Microsoft.PowerShell.Commands.WebSslProtocol</c> (TLS 1.0 and 1.1 are obsolete and mean TLS 1.2, as there).
/// </summary>
[Flags]
public enum WebSslProtocol
{
    /// <summary>The system's defaults.</summary>
    Default = (int)SslProtocols.None,

    /// <summary>Obsolete: TLS 1.2.</summary>
    Tls = (int)SslProtocols.Tls12,

    /// <summary>Obsolete: TLS 1.2.</summary>
    Tls11 = (int)SslProtocols.Tls12,

    /// <summary>TLS 1.2.</summary>
    Tls12 = (int)SslProtocols.Tls12,

    /// <summary>TLS 1.3.</summary>
    Tls13 = (int)SslProtocols.Tls13,
}

/// <summary>
/// Reads -HttpVersion as Invoke-WebRequest's does: a version (<c>2.0</c>) or a bare major number (<c>2</c>).
/// </summary>
public sealed class HttpVersionTransformationAttribute : ArgumentTransformationAttribute
{
    /// <inheritdoc />
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        return value switch
        {
            int major => new Version(major, 0),
            double number => Version.Parse(number.ToString("0.0##", System.Globalization.CultureInfo.InvariantCulture)),
            string text when int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var major) => new Version(major, 0),
            _ => inputData,
        };
    }
}

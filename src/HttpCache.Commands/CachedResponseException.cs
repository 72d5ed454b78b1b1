using System.Globalization;
using System.Linq.Expressions;
using System.Reflection;

namespace HttpCache;

/// <summary>
/// The exception of a status outside 200-299 when PowerShell's own
/// <c>Microsoft.PowerShell.Commands.HttpResponseException</c> cannot be found (it always can in PowerShell 7.4+,
/// where the module throws that one, so that catch blocks written for Invoke-WebRequest catch it).
/// Shaped like it: <c>$_.Exception.Response</c> is the HttpResponseMessage.
/// </summary>
public sealed class CachedResponseException : HttpRequestException
{
    internal CachedResponseException(string message, HttpResponseMessage response)
        : base(message, inner: null, statusCode: response.StatusCode)
    {
        Response = response;
    }

    /// <summary>The answer.</summary>
    public HttpResponseMessage Response { get; }

    /// <summary>
    /// The exception Invoke-WebRequest throws for <paramref name="response"/>'s status: PowerShell's
    /// HttpResponseException, with its message. PowerShell Standard (what the module compiles against) lacks
    /// the type, so its public (string, HttpResponseMessage) constructor is found in the running PowerShell once
    /// and compiled into a delegate.
    /// </summary>
    internal static HttpRequestException For(CachedResponse response)
    {
        var message = string.Format(CultureInfo.InvariantCulture, "Response status code does not indicate success: {0} ({1}).", response.StatusCode, response.ReasonPhrase);
        var exception = HttpResponseExceptionFactory.Value is { } create ? create(message, response.BaseResponse) : new CachedResponseException(message, response.BaseResponse);

        // The cache's view of the failed answer (FromCache, Reason…), for scripts that want it:
        // $_.Exception.CachedResponse (an instance member PowerShell keeps with the exception).
        System.Management.Automation.PSObject.AsPSObject(exception).Properties.Add(new System.Management.Automation.PSNoteProperty("CachedResponse", response));
        return exception;
    }

    private static readonly Lazy<Func<string, HttpResponseMessage, HttpRequestException>?> HttpResponseExceptionFactory = new(() =>
    {
        var type = typeof(System.Management.Automation.PSObject).Assembly.GetType("Microsoft.PowerShell.Commands.HttpResponseException")
            ?? Type.GetType("Microsoft.PowerShell.Commands.HttpResponseException, Microsoft.PowerShell.Commands.Utility", throwOnError: false);
        var constructor = type?.GetConstructor(BindingFlags.Public | BindingFlags.Instance, [typeof(string), typeof(HttpResponseMessage)]);
        if (constructor is null || !typeof(HttpRequestException).IsAssignableFrom(type))
        {
            return null;
        }

        var message = Expression.Parameter(typeof(string), "message");
        var answer = Expression.Parameter(typeof(HttpResponseMessage), "response");
        return Expression.Lambda<Func<string, HttpResponseMessage, HttpRequestException>>(
            Expression.Convert(Expression.New(constructor, message, answer), typeof(HttpRequestException)), message, answer).Compile();
    });
}

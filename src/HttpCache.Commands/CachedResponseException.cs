using System.Globalization;
using System.Net;

namespace HttpCache;

/// <summary>
/// The exception of Invoke-CachedWebRequest's error for a status outside 200-299, as Invoke-WebRequest's
/// HttpResponseException: <c>$_.Exception.Response</c> is the answer, cached or not.
/// </summary>
public sealed class CachedResponseException : HttpRequestException
{
    internal CachedResponseException(CachedResponse response)
        : base(
            string.Format(CultureInfo.InvariantCulture, "Response status code does not indicate success: {0} ({1}).", response.StatusCode, response.StatusDescription),
            inner: null,
            statusCode: (HttpStatusCode)response.StatusCode)
    {
        Response = response;
    }

    /// <summary>The answer.</summary>
    public CachedResponse Response { get; }
}

using System.Management.Automation;
using System.Xml;

namespace HttpCache.Commands;

/// <summary>
/// <para type="synopsis">Sends a request through the cache and returns the content as objects: the cached twin of Invoke-RestMethod.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "CachedRestMethod", DefaultParameterSetName = DefaultSet)]
[OutputType(typeof(PSObject), typeof(XmlDocument), typeof(string))]
public sealed class InvokeCachedRestMethodCommand : CachedRequestCommandBase
{
    /// <summary>Follows the Link header's rel="next" pages, outputting (and caching) each.</summary>
    [Parameter]
    [Alias("FL")]
    public SwitchParameter FollowRelLink { get; set; }

    /// <summary>With -FollowRelLink, how many pages at most.</summary>
    [Parameter]
    [Alias("ML")]
    [ValidateRange(1, int.MaxValue)]
    [ArgumentCompleter(typeof(NoCompletion))]
    public int MaximumFollowRelLink { get; set; } = int.MaxValue;

    /// <summary>A variable to receive the answer's status code, as Invoke-RestMethod's.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NoCompletion))]
    public string? StatusCodeVariable { get; set; }

    /// <summary>A variable to receive the answer's headers, as Invoke-RestMethod's.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [Alias("RHV")]
    [ArgumentCompleter(typeof(NoCompletion))]
    public string? ResponseHeadersVariable { get; set; }

    /// <summary>A variable to receive the whole HttpCache.CachedResponse: FromCache, Reason, ExpiresAt…</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NoCompletion))]
    public string? ResponseVariable { get; set; }

    /// <inheritdoc />
    private protected override int FollowRelLinkPages => FollowRelLink ? MaximumFollowRelLink : 1;

    /// <inheritdoc />
    private protected override void OnAnswer(CachedResponse response, bool failing)
    {
        // As Invoke-RestMethod: an answer that fails the status check sets neither; its status is in the error.
        if (StatusCodeVariable is not null && !failing)
        {
            SessionState.PSVariable.Set(StatusCodeVariable, response.StatusCode);
        }

        if (ResponseHeadersVariable is not null && !failing)
        {
            SessionState.PSVariable.Set(ResponseHeadersVariable, response.Headers);
        }

        // The cache's own variable is set either way: why an error status was served is worth knowing.
        if (ResponseVariable is not null)
        {
            SessionState.PSVariable.Set(ResponseVariable, response);
        }
    }

    /// <inheritdoc />
    private protected override void WriteAnswer(CachedResponse response)
    {
        var mediaType = response.MediaType;
        var converted = response.CacheKey is { } key
            ? RestContent.Convert(key, response.Body, () => response.Text, mediaType)
            : RestContent.Convert(response.Text, mediaType);
        WriteVerbose($"{response.Method} {response.Uri}: {converted.Kind} content ({response.RawContentLength} bytes{(mediaType is null ? string.Empty : ", " + mediaType)}).");
        if (!converted.HasValue)
        {
            return;
        }

        // As Invoke-RestMethod: a JSON array is written element by element.
        WriteObject(converted.Value, enumerateCollection: converted.Value is object?[]);
    }
}

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
    private protected override void OnAnswer(CachedResponse response)
    {
        // Set before the status check, as Invoke-RestMethod does, so a failed call still tells its status.
        if (StatusCodeVariable is not null)
        {
            SessionState.PSVariable.Set(StatusCodeVariable, response.StatusCode);
        }

        if (ResponseHeadersVariable is not null)
        {
            SessionState.PSVariable.Set(ResponseHeadersVariable, response.Headers);
        }

        if (ResponseVariable is not null)
        {
            SessionState.PSVariable.Set(ResponseVariable, response);
        }
    }

    /// <inheritdoc />
    private protected override void WriteAnswer(CachedResponse response)
    {
        var contentType = response.Headers.TryGetValue("Content-Type", out var values) ? values.FirstOrDefault() : null;
        var converted = RestContent.Convert(response.Content, contentType);
        WriteVerbose($"{response.Method} {response.Uri}: {converted.Kind} content ({response.RawContentLength} bytes{(contentType is null ? string.Empty : ", " + contentType)}).");
        if (!converted.HasValue)
        {
            return;
        }

        // As Invoke-RestMethod: a JSON array is written element by element.
        WriteObject(converted.Value, enumerateCollection: converted.Value is object?[]);
    }
}

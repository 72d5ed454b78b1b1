using System.Globalization;
using System.Management.Automation;

namespace HttpCache.Commands;

/// <summary>
/// The progress bar of a command that works through many entries: shown only once there are many
/// (<see cref="Threshold"/>), updated about a hundred times whatever the count, and closed at the end.
/// With an unknown total (entries arriving through the pipeline) it counts without a percentage.
/// </summary>
internal sealed class BulkProgress
{
    /// <summary>Fewer items than this finish too fast for a progress bar to help.</summary>
    public const int Threshold = 100;

    private readonly Cmdlet cmdlet;
    private readonly int activityId;
    private readonly string activity;
    private readonly int? total;
    private readonly int every;
    private int done;
    private bool shown;

    public BulkProgress(Cmdlet cmdlet, int activityId, string activity, int? total)
    {
        this.cmdlet = cmdlet;
        this.activityId = activityId;
        this.activity = activity;
        this.total = total;
        every = total is { } known ? Math.Max(1, known / 100) : Threshold;
    }

    /// <summary>Counts one item done; writes a record when it is time to.</summary>
    public void Step(string current)
    {
        done++;
        if (total is { } known)
        {
            if (known < Threshold || (done % every != 0 && done != known))
            {
                return;
            }

            Write(string.Format(CultureInfo.InvariantCulture, "{0} of {1}", done, known), done * 100 / known, current);
        }
        else if (done % every == 0)
        {
            Write(string.Format(CultureInfo.InvariantCulture, "{0} so far", done), -1, current);
        }
    }

    /// <summary>Closes the bar, if it was shown.</summary>
    public void Complete()
    {
        if (shown)
        {
            cmdlet.WriteProgress(new ProgressRecord(activityId, activity, string.Format(CultureInfo.InvariantCulture, "{0} done", done)) { RecordType = ProgressRecordType.Completed });
            shown = false;
        }
    }

    private void Write(string status, int percent, string current)
    {
        shown = true;
        cmdlet.WriteProgress(new ProgressRecord(activityId, activity, status) { PercentComplete = percent, CurrentOperation = current });
    }
}

"""Test data: the markup ASP.NET 4.x (4.5+) renders for WebForms controls, and the page around it.

Teams porting WebForms pages to Python keep the HTML their pages rendered; this module is that
HTML, for the controls whose postbacks the middleware must understand, written from ASP.NET's
reference source (github.com/microsoft/referencesource, ``System.Web/``, at commit
``ec9fa9ae``; "File.cs:N" below is a line there). Nothing is copied from it: each string is
what the cited code writes for the control described next to it, with the page's own IDs, as
an ASP.NET 4.5+ site renders it with the defaults of a new project (``controlRenderingCompat
ibilityVersion`` 4.0+, ``ClientIDMode`` Predictable/AutoID: the same IDs for these controls,
unobtrusive validation off, no ScriptManager, no master page, a Chrome user agent).

* :data:`CONTROLS`: each control kind as a fragment (:class:`Control`): the markup it renders
  where it stands in the form, and what it asks of the page (the ``__doPostBack`` script, the
  ``WebForms.js`` include, ``__LASTFOCUS``, validators, a callback).
* :func:`alone`: fragments in a bare post form, nothing of ASP.NET's page around them.
* :func:`whole_page`: fragments in the whole page ASP.NET writes (``Page.BeginFormRender`` and
  ``EndFormRender``): the ``aspNetHidden`` blocks with ``__EVENTTARGET``, ``__EVENTARGUMENT``,
  ``__LASTFOCUS``, ``__VIEWSTATE``, ``__VIEWSTATEGENERATOR`` and ``__EVENTVALIDATION``, the
  inline ``__doPostBack`` script, the ``WebResource.axd`` tags, the registered script blocks,
  the validators' arrays, expandos and ``WebForm_OnSubmit``, and the startup script with
  ``WebForm_InitCallback();``. Either with every hidden field at the top of the form
  (``<pages renderAllHiddenFieldsAtTopOfForm>``, true by default since 4.5: HtmlForm.cs:464-489,
  PagesSection.cs:152-153) or with the second block trailing the controls (that setting false,
  or ASP.NET 4.0).
* :func:`render`: either, by layout name, for the Python port in ``tests/apps/webforms_app.py``.

Encoding, as HtmlTextWriter writes every attribute below: ``onclick``, ``onchange``, ``href``
and ``value`` are HtmlAttributeEncoded (HTMLTextWriter.cs:256-282 register them with encode
true; HttpEncoder.cs:234-276: ``"`` ``&quot;``, ``'`` ``&#39;``, ``&`` ``&amp;``, ``<``
``&lt;``), and an ``href`` starting with ``javascript:`` is not URL-encoded
(HTMLTextWriter.cs:1026-1032): hence ``href="javascript:__doPostBack(&#39;T&#39;,&#39;A&#39;)"``.
Markup the page author wrote in the ``.aspx`` (the seed page's button, a FormView template's
text) is written as it was, unencoded. Block tags (``div``, ``table``, ``tr``, ``select``,
``title``) start a new line and indent their content with a tab, ``td``/``th``/``a``/``span``
are inline (HTMLTextWriter.cs:976-1129), whence the tabs and ``</tr><tr>``. Every line ends
with CR LF, as ASP.NET writes it on Windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

REFERENCESOURCE = "microsoft/referencesource@ec9fa9ae"

FORM_ID = "form1"
ACTION = "./Page.aspx"  # HtmlForm.GetActionAttribute in 4.0+: the page's file name, relative

# Values ASP.NET put in its own fields (the middleware takes these over, PROTOCOL §6).
# An ObjectStateFormatter stream (FF 01 marker and version, Pair, Pair, the page's hash code as
# a string, two nulls: "/wEPDwUKMTY1NDU2MTA1MmRk", the start of countless 4.x pages) and a
# 32-byte HMACSHA256 MAC.
VIEWSTATE = "/wEPDwUKMTY1NDU2MTA1MmRkldbfRw/4knQJoPK3z3Ok4oZQG9ztEQwyLw0zOVBmG0c="
VIEWSTATEGENERATOR = "D7C7D5E3"  # Page.cs:2265-2268: the page's type hash, 8 hex digits
# 4.5's EventValidationStore ("/wEdAA": FF 01 1D 00, a count, 8-byte hashes) and its MAC.
EVENTVALIDATION = (
    "/wEdAAnPzSCEldVl78TKQjiguSOCyB5yjZ1ML2Psy8h+S1zi/qh/9nmi8+cd5No7f7vOI0UWeQkcWogPr48U5F/O6h"
    "Z6yfD4lfuYq5GVLyeHC0d2+fv08xcy1be4xtRdzRNWgjMuEvbuFxNA/w=="
)
# WebResource.axd URLs (ClientScriptManager.GetWebResourceUrl): d = the encrypted assembly and
# resource name, t = the assembly's timestamp. The first is WebForms.js, the second
# WebUIValidation.js.
WEBFORMS_D = ("pynGkmcFUV13He1Qd6_TZAG0REM8qqEBAHCZinHsmTftbBz8ARFqQG4SmTbTGQGNsxByiuhhp7M8BL"
              "__qlDclA2")
VALIDATION_D = ("x2nkrMJGXkMELz33nwnakBDyDTfC2u2EW8nN7kNz5llWFNmyKVRVL2pLwmmA74F49p0dMtzwbVkuT8N"
                "wWTuiQ2")
RESOURCE_T = "638628972238353744"
WEBFORMS_URL = f"/WebResource.axd?d={WEBFORMS_D}&t={RESOURCE_T}"
VALIDATION_URL = f"/WebResource.axd?d={VALIDATION_D}&t={RESOURCE_T}"

# ClientScriptManager.cs:47,49: the tags around every script block ASP.NET writes itself.
SCRIPT_START = '\n<script type="text/javascript">\n//<![CDATA[\n'
SCRIPT_END = "//]]>\n</script>\n"


def _include(url: str) -> str:
    """ClientScriptManager.cs:44-46, 833 (RegisterClientScriptInclude), 1212-1214
    (RenderWebFormsScript): a script tag on a new line, its URL HtmlAttributeEncoded."""
    return '\n<script src="' + url.replace("&", "&amp;") + '" type="text/javascript"></script>'


@dataclass(frozen=True)
class Validator:
    """A RequiredFieldValidator (uplevel, Display=Static), as its page declares it."""

    id: str
    control_to_validate: str
    error_message: str
    group: str


@dataclass(frozen=True)
class Control:
    """One control kind: its markup, and what it registers with the page while rendering."""

    name: str
    markup: str
    # The page author's own markup in <head> for it (the seed page's HandleResult).
    head: str = ""
    # A script block the code-behind registers (RegisterClientScriptBlock(..., true)): written
    # at the top of the form with ASP.NET's tags (ClientScriptManager.cs:781-793, 1126-1156).
    script_block: str = ""
    # Page.RegisterPostBackScript (Page.cs:2718-2740): __EVENTTARGET/__EVENTARGUMENT and the
    # inline __doPostBack script; "prerender" when the control registers it in OnPreRender
    # (rendered at the top of the form), "render" when only its rendering asks for it
    # (ClientScriptManager.cs:377: written at the end of the form, Page.cs:2454-2465), "" never.
    postback_script: str = "prerender"
    # Page.RegisterWebFormsScript (Page.cs:2780-2797): the WebResource.axd tag for WebForms.js
    # (ClientScriptManager.cs:1202-1225), and the postback script with it; "prerender" and
    # "render" as for postback_script: a tag registered while rendering is written at the end
    # of the form, after the postback script (Page.cs:2454-2465).
    webforms_script: str = ""
    # Page.RegisterFocusScript (Page.cs:2704-2716): the __LASTFOCUS hidden field.
    last_focus: bool = False
    validators: tuple[Validator, ...] = ()
    # GetCallbackEventReference: the WebForm_InitCallback(); startup script (ClientScriptManager
    # .cs:288-297).
    callback: bool = False


# --------------------------------------------------------------------------------------------
# The controls
#
# Data-control command links: a DataControlLinkButton (no ID: WebControl.cs:590-592 writes no
# id) whose options are its container's (DataControlLinkButton.cs:48-54): GridView.cs:4443-4456
# (DetailsView.cs:3585-3596, FormView.cs:3025-3036) make PostBackOptions(this, CommandName + "$"
# + CommandArgument) with RequiresJavaScriptProtocol; LinkButton.cs:294-310 puts
# GetPostBackEventReference(options, true) (ClientScriptManager.cs:422-441, 372-398:
# "javascript:" + "__doPostBack('" + UniqueID + "','" + QuoteJScriptString(argument) + "')") in
# its href.


def _command(target: str, argument: str, text: str) -> str:
    return (f'<a href="javascript:__doPostBack(&#39;{target}&#39;,&#39;{argument}&#39;)">'
            f"{text}</a>")


def _grid_row(index: int, name: str, city: str) -> str:
    # CommandField.cs:585-650: Edit, Delete, Select (ShowEdit/Delete/SelectButton), joined by
    # "&nbsp;" LiteralControls; AddButtonToCell (CommandField.cs:499-550) gives each the row
    # index as CommandArgument (544). BoundFields write their text (HtmlEncoded) in a <td>.
    commands = "&nbsp;".join(_command("GridView1", f"{command}${index}", command)
                             for command in ("Edit", "Delete", "Select"))
    return f"\t\t</tr><tr>\n\t\t\t<td>{commands}</td><td>{name}</td><td>{city}</td>\n"


# <asp:GridView ID="GridView1" AllowSorting="True" AllowPaging="True" PageSize="2"
#   AutoGenerateColumns="False"> <Columns><asp:CommandField ShowEditButton="True"
#   ShowDeleteButton="True" ShowSelectButton="True" /><asp:BoundField DataField="Name"
#   HeaderText="Name" SortExpression="Name" /><asp:BoundField DataField="City" HeaderText="City"
#   SortExpression="City" /></Columns>, bound to three people (two pages).
# GridView.cs:4180-4203: a <div> around the table (no id without sorting/paging callbacks);
# GridView.cs:2331-2332 and TableStyle.cs:185-240, ChildTable.cs:52-61: cellspacing, rules,
# border, then the GridView's id, then border-collapse for CellSpacing 0. GridView.cs:1559-1565,
# 3333-3335: header cells are <th scope="col">; DataControlField.cs:503-528: a sortable header
# is a DataControlLinkButton "Sort$" + SortExpression, an empty one "&nbsp;". The pager row:
# GridView.cs:3275-3306 (a PagerTable in one cell spanning the columns), 2588-2606 (the current
# page a <span> Label, the others "Page$N" links).
GRIDVIEW = (
    "<div>\n"
    '\t<table cellspacing="0" rules="all" border="1" id="GridView1"'
    ' style="border-collapse:collapse;">\n'
    "\t\t<tr>\n"
    '\t\t\t<th scope="col">&nbsp;</th>'
    f'<th scope="col">{_command("GridView1", "Sort$Name", "Name")}</th>'
    f'<th scope="col">{_command("GridView1", "Sort$City", "City")}</th>\n'
    + _grid_row(0, "Ada", "London")
    + _grid_row(1, "Grace", "Arlington")
    + "\t\t</tr><tr>\n"
    '\t\t\t<td colspan="3"><table>\n'
    "\t\t\t\t<tr>\n"
    f'\t\t\t\t\t<td><span>1</span></td><td>{_command("GridView1", "Page$2", "2")}</td>\n'
    "\t\t\t\t</tr>\n"
    "\t\t\t</table></td>\n"
    "\t\t</tr>\n"
    "\t</table>\n"
    "</div>"
)

# <asp:GridView ID="ProductsGrid" AutoGenerateColumns="False"><Columns><asp:CommandField
#   ButtonType="Image" ShowSelectButton="True" SelectImageUrl="~/images/select.png" />
#   <asp:BoundField DataField="Product" HeaderText="Product" /></Columns>
# A DataControlImageButton (DataControlImageButton.cs:42-48: the container's options;
# DataControlButton.cs:44-58 and ImageButton.cs:330-343: ClientSubmit, so the reference is
# followed by "return false;" (341) that keeps the image from also submitting natively). No
# name: its options target the grid (ImageButton.cs:295-300); type, then Image.cs:190-222's
# src and alt, then the onclick. ImageButton.OnPreRender (ImageButton.cs:444-456) registers no
# postback script: only the rendering does (ClientScriptManager.cs:377), so ASP.NET writes the
# __doPostBack script at the end of the form (Page.cs:2454-2465).
IMAGE_GRID = (
    "<div>\n"
    '\t<table cellspacing="0" rules="all" border="1" id="ProductsGrid"'
    ' style="border-collapse:collapse;">\n'
    "\t\t<tr>\n"
    '\t\t\t<th scope="col">&nbsp;</th><th scope="col">Product</th>\n'
    + "".join(
        "\t\t</tr><tr>\n"
        '\t\t\t<td><input type="image" src="images/select.png" alt="Select" onclick="javascript:'
        f'__doPostBack(&#39;ProductsGrid&#39;,&#39;Select${i}&#39;);return false;" /></td>'
        f"<td>{product}</td>\n"
        for i, product in enumerate(("Tea", "Coffee"))
    )
    + "\t\t</tr>\n"
    "\t</table>\n"
    "</div>"
)

# <asp:LinkButton ID="LinkButton1" runat="server" Text="Refresh totals" />
# LinkButton.cs:262-311 (onclick only for OnClientClick, then WebControl's id, then the href),
# 344-371 (RequiresJavaScriptProtocol; no validators in its group: no validation), 440-450
# (OnPreRender: RegisterPostBackScript).
LINKBUTTON = ('<a id="LinkButton1" href="javascript:__doPostBack(&#39;LinkButton1&#39;,'
              '&#39;&#39;)">Refresh totals</a>')

# <asp:DropDownList ID="DropDownList1" runat="server" AutoPostBack="True"> Name/Date items.
# DropDownList.cs:122-129 (name first), ListControl.cs:495-543 (onchange: MergeScript of the
# AutoPostBack reference, ClientScriptManager.cs:427-438: "setTimeout('" + QuoteJScriptString(
# "__doPostBack('DropDownList1','')") + "', 0)", Util.cs:1644-1657 prefixes "javascript:"), then
# WebControl's id; ListControl.cs:773-812: each <option> on its own line, selected first; the
# select is a block tag, whence the tab and the empty line before </select>. ListControl.cs:
# 632-645: RegisterPostBackScript and RegisterFocusScript (no WebForms.js without validation).
DROPDOWNLIST = (
    '<select name="DropDownList1" onchange="javascript:setTimeout(&#39;__doPostBack('
    r"\&#39;DropDownList1\&#39;,\&#39;\&#39;)&#39;, 0)"
    '" id="DropDownList1">\n'
    '\t<option selected="selected" value="name">Name</option>\n'
    '\t<option value="date">Date</option>\n'
    "\n"
    "</select>"
)

# Validators: <asp:RequiredFieldValidator ID="NameRequired" ControlToValidate="NameBox"
# ErrorMessage="Name is required." ValidationGroup="Name" />. BaseValidator.cs:687-765: a
# <span> (Label), hidden with visibility (Display=Static, valid), the ErrorMessage as its text
# when it has no Text; its properties are expandos written by script at the end of the form
# (BaseValidator.cs:328-378, RequiredFieldValidator.cs:51-58, ClientScriptManager.cs:683-705,
# 1064-1101), the validator in Page_Validators (BaseValidator.cs:652-663, ClientScriptManager
# .cs:1029-1062), WebUIValidation.js included, WebForm_OnSubmit's statement and the startup
# script registered (BaseValidator.cs:32-46, 616-641). A plain TextBox: TextBox.cs:379-531
# (name, type, id).
NAME_REQUIRED = Validator("NameRequired", "NameBox", "Name is required.", "Name")
CITY_REQUIRED = Validator("CityRequired", "CityBox", "City is required.", "City")

# <asp:Button ID="SaveButton" Text="Save" ValidationGroup="Name" /> (UseSubmitBehavior, the
# default). Button.cs:252-329: type, name, value, onclick (GetPostBackEventReference(options),
# Button.cs:331-347: PerformValidation with the group, ClientSubmit = !UseSubmitBehavior =
# false; ClientScriptManager.cs:447-517: WebForm_DoPostBackWithOptions(new
# WebForm_PostBackOptions("T", "", true, "group", "", false, false)), double quotes, the group
# raw), then id. Button.cs:374-388: RegisterWebFormsScript. The browser submits natively
# (SaveButton=Save); WebForms.js posts no event for clientSubmit false.
VALIDATING_BUTTON = (
    '<input name="NameBox" type="text" id="NameBox" />\n'
    '        <span id="NameRequired" style="visibility:hidden;">Name is required.</span>\n'
    '        <input type="submit" name="SaveButton" value="Save" onclick="javascript:'
    "WebForm_DoPostBackWithOptions(new WebForm_PostBackOptions(&quot;SaveButton&quot;, "
    '&quot;&quot;, true, &quot;Name&quot;, &quot;&quot;, false, false))" id="SaveButton" />'
)

# <asp:LinkButton ID="SendLink" Text="Send" ValidationGroup="City" />: LinkButton.cs:363-366
# (validators in its group: PerformValidation), ClientSubmit true (PostBackOptions' default).
VALIDATING_LINKBUTTON = (
    '<input name="CityBox" type="text" id="CityBox" />\n'
    '        <span id="CityRequired" style="visibility:hidden;">City is required.</span>\n'
    '        <a id="SendLink" href="javascript:WebForm_DoPostBackWithOptions(new '
    "WebForm_PostBackOptions(&quot;SendLink&quot;, &quot;&quot;, true, &quot;City&quot;, "
    '&quot;&quot;, false, true))">Send</a>'
)

# <asp:Button ID="RefreshButton" Text="Refresh" UseSubmitBehavior="False" />: type="button"
# (Button.cs:260-265), ClientSubmit true: the plain reference (ClientScriptManager.cs:431-441)
# through MergeScript's "javascript:" (Button.cs:302-305); Button.cs:383-385:
# RegisterPostBackScript. As seed 004 shows it (ASP.NET 2.0, before &#39;).
BUTTON_NO_SUBMIT = (
    '<input type="button" name="RefreshButton" value="Refresh" onclick="javascript:'
    '__doPostBack(&#39;RefreshButton&#39;,&#39;&#39;)" id="RefreshButton" />'
)

# <asp:CheckBox ID="SubscribeCheck" Text="Email me updates" AutoPostBack="True" />
# CheckBox.cs:397-492 (no wrapper span without style or attributes; the label after the
# input), 508-580 (id, type, name, onclick: the AutoPostBack reference, as the DropDownList's),
# 494-506 (the label), 327-343 (OnPreRender: RegisterPostBackScript, RegisterFocusScript).
CHECKBOX = (
    '<input id="SubscribeCheck" type="checkbox" name="SubscribeCheck" onclick="javascript:'
    r"setTimeout(&#39;__doPostBack(\&#39;SubscribeCheck\&#39;,\&#39;\&#39;)&#39;, 0)"
    '" /><label for="SubscribeCheck">Email me updates</label>'
)

# Two <asp:RadioButton GroupName="Shipping" AutoPostBack="True" />, Standard checked.
# RadioButton.cs:193-257: id, type, name = the group's unique name, value = the ID, checked;
# the AutoPostBack onclick only on the unchecked one (207-214, "only posts back if its state
# has been changed"), with GetPostBackEventReference(options) (229-231). OnPreRender: CheckBox's
# (RadioButton.cs:184-191).
RADIOBUTTON = (
    '<input id="RadioStandard" type="radio" name="Shipping" value="RadioStandard"'
    ' checked="checked" /><label for="RadioStandard">Standard</label>\n'
    '        <input id="RadioExpress" type="radio" name="Shipping" value="RadioExpress"'
    ' onclick="javascript:'
    r"setTimeout(&#39;__doPostBack(\&#39;RadioExpress\&#39;,\&#39;\&#39;)&#39;, 0)"
    '" /><label for="RadioExpress">Express</label>'
)

# <asp:TextBox ID="SearchBox" AutoPostBack="True" />: TextBox.cs:379-531 (name, type, then
# onchange: the AutoPostBack reference (CausesValidation is false by default, TextBox.cs:
# 122-130), onkeypress: WebForm_TextBoxKeyHandler (TextBox.cs:62, 511-522), then id);
# TextBox.cs:609-627: RegisterWebFormsScript, RegisterPostBackScript, RegisterFocusScript.
TEXTBOX = (
    '<input name="SearchBox" type="text" onchange="javascript:setTimeout(&#39;__doPostBack('
    r"\&#39;SearchBox\&#39;,\&#39;\&#39;)&#39;, 0)"
    '" onkeypress="if (WebForm_TextBoxKeyHandler(event) == false) return false;"'
    ' id="SearchBox" />'
)

# <asp:ImageButton ID="RefreshImage" ImageUrl="~/images/refresh.png" AlternateText="Refresh" />
# ImageButton.cs:281-355: type, name, then Image.cs:190-222 (WebControl's id, src, alt; no
# border style in 4.0+, Image.cs:259), no onclick (ClientSubmit false, ImageButton.cs:357-372,
# and nothing to validate): the browser submits natively with RefreshImage.x/.y. No postback
# script (ImageButton.cs:444-456).
IMAGEBUTTON = ('<input type="image" name="RefreshImage" id="RefreshImage"'
               ' src="images/refresh.png" alt="Refresh" />')

# <asp:DetailsView ID="DetailsView1" Height="50px" Width="125px" AllowPaging="True"
#   AutoGenerateRows="False"> two BoundFields, three records.
# DetailsView.cs:3382-3406 (the <div>), 1731-1739 (GridLines Both, CellSpacing 0: the table's
# attributes as GridView's, height and width first in the style), 2747-2763 (a row per field:
# its header text in a <td>, then its value), 2718-2737 (the pager cell spans two columns),
# 1949-2040 (numeric pager, "Page$N").
DETAILSVIEW = (
    "<div>\n"
    '\t<table cellspacing="0" rules="all" border="1" id="DetailsView1"'
    ' style="height:50px;width:125px;border-collapse:collapse;">\n'
    "\t\t<tr>\n"
    "\t\t\t<td>Name</td><td>Ada</td>\n"
    "\t\t</tr><tr>\n"
    "\t\t\t<td>City</td><td>London</td>\n"
    "\t\t</tr><tr>\n"
    '\t\t\t<td colspan="2"><table>\n'
    "\t\t\t\t<tr>\n"
    f'\t\t\t\t\t<td><span>1</span></td><td>{_command("DetailsView1", "Page$2", "2")}</td>'
    f'<td>{_command("DetailsView1", "Page$3", "3")}</td>\n'
    "\t\t\t\t</tr>\n"
    "\t\t\t</table></td>\n"
    "\t\t</tr>\n"
    "\t</table>\n"
    "</div>"
)

# <asp:FormView ID="FormView1" AllowPaging="True"><PagerSettings Mode="NextPrevious" />
#   <ItemTemplate> Name: <asp:Label ID="NameLabel" Text='<%# Bind("Name") %>' /><br />
#   <asp:LinkButton ID="EditButton" CausesValidation="False" CommandName="Edit" Text="Edit" />
#   </ItemTemplate>, three records.
# FormView.cs:2854-2874 (no <div>: the table itself), 1495-1502 (CellSpacing 0, no grid lines),
# 2373-2382 (the template in one cell spanning two columns, as the author wrote it), 2337-2365
# (the pager cell), 1566-1630 (NextPrevious: no "Prev" on the first page; PagerSettings.cs:243
# NextPageText "&gt;", written as is). The template's LinkButton is a LinkButton of its own,
# named inside the FormView: UniqueID FormView1$EditButton, ClientID FormView1_EditButton.
FORMVIEW = (
    '<table cellspacing="0" id="FormView1" style="border-collapse:collapse;">\n'
    "\t<tr>\n"
    '\t\t<td colspan="2">\n'
    "                Name:\n"
    '                <span id="FormView1_NameLabel">Ada</span><br />\n'
    '                <a id="FormView1_EditButton" href="javascript:__doPostBack('
    '&#39;FormView1$EditButton&#39;,&#39;&#39;)">Edit</a>\n'
    "            </td>\n"
    "\t</tr><tr>\n"
    '\t\t<td colspan="2"><table>\n'
    "\t\t\t<tr>\n"
    f'\t\t\t\t<td>{_command("FormView1", "Page$Next", "&gt;")}</td>\n'
    "\t\t\t</tr>\n"
    "\t\t</table></td>\n"
    "\t</tr>\n"
    "</table>"
)

# <asp:Panel ID="SearchPanel" runat="server" DefaultButton="SearchButton"> a TextBox
#   SearchText and <asp:Button ID="SearchButton" Text="Search" /> </asp:Panel>
# Panel.cs:253-300: WebControl's id, then RegisterDefaultButtonScript (ClientScriptManager.cs:
# 871-887): onkeypress "javascript:return WebForm_FireDefaultButton(event, '" + ClientID + "')"
# added by name, so encoded as an unknown attribute is (HTMLTextWriter.cs:699-705, 802-810);
# it registers WebForms.js while rendering. The div is a block tag: a new line and a tab after
# it, then the author's literal text and controls; a new line before </div>. The Button is a
# plain submit button (Button.cs:252-329: no onclick, nothing to validate).
PANEL = (
    '<div id="SearchPanel" onkeypress="javascript:return WebForm_FireDefaultButton(event, '
    '&#39;SearchButton&#39;)">\n'
    "\t\n"
    '            <input name="SearchText" type="text" id="SearchText" />\n'
    '            <input type="submit" name="SearchButton" value="Search" id="SearchButton" />\n'
    "        \n"
    "</div>"
)

# Seed 000 (the ICallbackEventHandler article): the page author's own button and label, and its
# HandleResult in <head>; the code-behind registers
#   "function CallServer(arg, context){" + GetCallbackEventReference(this, "arg",
#   "HandleResult", "") + ";}"
# as a client script block with tags. ClientScriptManager.cs:262-324: target "'" + UniqueID +
# "'" (281; '__Page' for the page), "" context written "\"\"" (305-310), null error callback,
# false; and the WebForm_InitCallback(); startup script (291-297; no callBackFrameUrl over
# http), RegisterWebFormsScript (289).
CALLBACK_HEAD = (
    "\n\n\t<script type=\"text/javascript\">\n"
    "\t\t//the parameter arg is what is returned from GetCallbackResult\n"
    "\t\tfunction HandleResult(arg, context) {\n"
    "\t\t\tlbl.innerHTML = arg;\n"
    "\t\t}\n"
    "\t</script>\n"
)
CALLBACK = (
    '<input id="Button1" type="button" value="Call Server"'
    " onclick=\"CallServer(1, alert('Calling Server Now'));\" />\n"
    '        <label id="lbl">Label State Before Calling the Server</label>'
)
CALLBACK_SCRIPT = ("function CallServer(arg, context){"
                   "WebForm_DoCallback('__Page',arg,HandleResult,\"\",null,false);}")

CONTROLS: dict[str, Control] = {
    control.name: control
    for control in (
        Control("gridview", GRIDVIEW),
        Control("linkbutton", LINKBUTTON),
        Control("dropdownlist", DROPDOWNLIST, last_focus=True),
        Control("validating-button", VALIDATING_BUTTON, webforms_script="prerender",
                validators=(NAME_REQUIRED,)),
        Control("validating-linkbutton", VALIDATING_LINKBUTTON, webforms_script="prerender",
                validators=(CITY_REQUIRED,)),
        Control("button-nosubmit", BUTTON_NO_SUBMIT),
        Control("checkbox", CHECKBOX, last_focus=True),
        Control("radiobutton", RADIOBUTTON, last_focus=True),
        Control("textbox", TEXTBOX, webforms_script="prerender", last_focus=True),
        Control("imagebutton", IMAGEBUTTON, postback_script=""),
        Control("imagebutton-in-grid", IMAGE_GRID, postback_script="render"),
        Control("panel-defaultbutton", PANEL, postback_script="render",
                webforms_script="render"),
        Control("detailsview", DETAILSVIEW),
        Control("formview", FORMVIEW),
        Control("callback", CALLBACK, head=CALLBACK_HEAD, script_block=CALLBACK_SCRIPT,
                webforms_script="prerender", callback=True),
    )
}

# --------------------------------------------------------------------------------------------
# Around the controls


def _hidden(name: str, value: str = "") -> str:
    # ClientScriptManager.cs:1103-1124 (RenderHiddenFields): a new line, then the input.
    return f'\n<input type="hidden" name="{name}" id="{name}" value="{value}" />'


# Page.cs:2742-2773 (RenderPostBackScript): exactly these lines, in ASP.NET's own tags.
POSTBACK_SCRIPT = (
    SCRIPT_START
    + f"var theForm = document.forms['{FORM_ID}'];\n"
    + f"if (!theForm) {{\n    theForm = document.{FORM_ID};\n}}\n"
    + "function __doPostBack(eventTarget, eventArgument) {\n"
    "    if (!theForm.onsubmit || (theForm.onsubmit() != false)) {\n"
    "        theForm.__EVENTTARGET.value = eventTarget;\n"
    "        theForm.__EVENTARGUMENT.value = eventArgument;\n"
    "        theForm.submit();\n"
    "    }\n"
    "}\n"
    + SCRIPT_END
    + "\n"
)

# BaseValidator.cs:32-46, verbatim (its closing spaces included: "        //]]>").
VALIDATOR_STARTUP = (
    "\nvar Page_ValidationActive = false;\n"
    'if (typeof(ValidatorOnLoad) == "function") {\n'
    "    ValidatorOnLoad();\n"
    "}\n"
    "\n"
    "function ValidatorOnSubmit() {\n"
    "    if (Page_ValidationActive) {\n"
    "        return ValidatorCommonOnSubmit();\n"
    "    }\n"
    "    else {\n"
    "        return true;\n"
    "    }\n"
    "}\n"
    "        "
)
# BaseValidator.cs:618-619 the statement; ClientScriptManager.cs:1139-1149 the function.
ON_SUBMIT = (
    "function WebForm_OnSubmit() {\n"
    'if (typeof(ValidatorOnSubmit) == "function" && ValidatorOnSubmit() == false)'
    " return false;\n"
    "return true;\n"
    "}\n"
)


def _validators(controls: Sequence[Control]) -> list[Validator]:
    return [v for c in controls for v in c.validators]


def _script_blocks(controls: Sequence[Control]) -> str:
    """ClientScriptManager.cs:1126-1156 and 1168-1200: the registered blocks in registration
    order (the code-behind's CallServer block at Page_Load, WebUIValidation.js's include at the
    validators' PreRender), then WebForm_OnSubmit when a submit statement was registered."""
    blocks: list[tuple[str, bool]] = [(c.script_block, True) for c in controls if c.script_block]
    if _validators(controls):
        blocks.append((_include(VALIDATION_URL), False))
    if not blocks:
        return ""
    out, in_block = "\n", False
    for text, tags in blocks:
        if tags and not in_block:
            out, in_block = out + SCRIPT_START, True
        elif not tags and in_block:
            out, in_block = out + SCRIPT_END, False
        out += text
    if _validators(controls):
        out += ("" if in_block else SCRIPT_START) + ON_SUBMIT + SCRIPT_END
    elif in_block:
        out += SCRIPT_END
    return out


def _late_hidden_block(fields: str) -> str:
    """Page.cs:2422-2452 (EndFormRenderHiddenFields): a new line, then a <div> rendered as a
    block tag: its inputs on their own lines, indented by one tab, after an empty line."""
    return '\n<div class="aspNetHidden">\n' + fields.replace("\n<input", "\n\t<input") + "\n</div>"


def _arrays_and_expandos(controls: Sequence[Control]) -> str:
    """Page.cs:2401-2413: Page_Validators (ClientScriptManager.cs:1029-1062, " =  new Array(",
    the elements joined by ", "), then each validator's expandos (1064-1101): errormessage and
    validationGroup QuoteJScriptString'd (BaseValidator.cs:328-378), then RequiredField
    Validator's evaluationfunction and initialvalue (RequiredFieldValidator.cs:51-58)."""
    validators = _validators(controls)
    if not validators:
        return ""
    elements = ", ".join(f'document.getElementById("{v.id}")' for v in validators)
    out = SCRIPT_START + f"var Page_Validators =  new Array({elements});\n" + SCRIPT_END
    out += SCRIPT_START
    for v in validators:
        out += (
            f'var {v.id} = document.all ? document.all["{v.id}"] :'
            f' document.getElementById("{v.id}");\n'
            f'{v.id}.controltovalidate = "{v.control_to_validate}";\n'
            f'{v.id}.errormessage = "{v.error_message}";\n'
            f'{v.id}.validationGroup = "{v.group}";\n'
            f'{v.id}.evaluationfunction = "RequiredFieldValidatorEvaluateIsValid";\n'
            f'{v.id}.initialvalue = "";\n'
        )
    return out + SCRIPT_END


def whole_page(
    controls: Sequence[Control],
    *,
    title: str = "Orders",
    status: str = "",
    hidden_fields_at_top: bool = True,
    action: str = ACTION,
) -> str:
    """The whole page ASP.NET writes for an .aspx holding ``controls`` in a ``<div>`` of its
    form, in order (``status``: more of the author's markup after them, such as a Label;
    ``action``: the form's, ``./`` and the page's file name).

    The .aspx (VS 2012+ template, ``<%@ Page ... %>`` then ``<!DOCTYPE html>``): its directive
    leaves empty lines; HtmlHead drops whitespace literals around the title, which is a block
    tag (HtmlTitle.cs:48-59). ``<form id="form1" runat="server">``: HtmlForm.cs:363-445 writes
    method, action (./Page.aspx), onsubmit when a submit statement is registered (Page.cs:
    657-667, the validators), then id; its children are framed by BeginFormRender (Page.cs:
    2287-2399) and EndFormRender (Page.cs:2401-2474), with the second hidden block moved to
    the top of the form when ``hidden_fields_at_top`` (HtmlForm.cs:464-489; the default since
    4.5), else after the controls (4.0, or that setting off).
    """
    # A WebForms.js registration registers the postback script too (Page.cs:2780-2797).
    early = [c for c in controls if "prerender" in (c.postback_script, c.webforms_script)]
    late = not early and any("render" in (c.postback_script, c.webforms_script)
                             for c in controls)
    webforms = any(c.webforms_script == "prerender" for c in controls)
    late_webforms = not webforms and any(c.webforms_script == "render" for c in controls)
    focus = any(c.last_focus for c in controls)

    # BeginFormRender: the first hidden block (fields registered before rendering, in
    # registration order: the postback script's two, then a focus script's), the view state
    # (Page.cs:2220-2283: a new line, the field, a new line), the block's end.
    top_fields = ""
    if early:
        top_fields += _hidden("__EVENTTARGET") + _hidden("__EVENTARGUMENT")
    if focus:
        top_fields += _hidden("__LASTFOCUS")
    begin = ('\n<div class="aspNetHidden">' + top_fields + "\n"
             + f'<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="{VIEWSTATE}" />\n'
             + "</div>\n")
    if early:
        begin += POSTBACK_SCRIPT
    if webforms:
        begin += _include(WEBFORMS_URL) + "\n"
    begin += _script_blocks(controls)

    # EndFormRender's hidden fields: __VIEWSTATEGENERATOR (registered by RenderViewStateFields),
    # the postback fields if only rendering registered them, __EVENTVALIDATION.
    late_fields = _hidden("__VIEWSTATEGENERATOR", VIEWSTATEGENERATOR)
    if late:
        late_fields += _hidden("__EVENTTARGET") + _hidden("__EVENTARGUMENT")
    late_fields += _hidden("__EVENTVALIDATION", EVENTVALIDATION)
    hidden_block = _late_hidden_block(late_fields)
    if hidden_fields_at_top:
        begin += hidden_block

    end = _arrays_and_expandos(controls)
    if not hidden_fields_at_top:
        end += hidden_block
    if late:
        end += POSTBACK_SCRIPT
    if late_webforms:
        end += _include(WEBFORMS_URL) + "\n"
    startup = ("\nWebForm_InitCallback();" if any(c.callback for c in controls) else "") + (
        VALIDATOR_STARTUP if _validators(controls) else "")
    if startup:
        end += "\n" + SCRIPT_START + startup + SCRIPT_END

    on_submit = (' onsubmit="javascript:return WebForm_OnSubmit();"'
                 if _validators(controls) else "")
    body = "\n        <br />\n        ".join(c.markup for c in controls)
    page = (
        "\n\n<!DOCTYPE html>\n\n"
        '<html xmlns="http://www.w3.org/1999/xhtml">\n'
        f"<head><title>\n\t{title}\n</title>{''.join(c.head for c in controls)}</head>\n"
        "<body>\n"
        f'    <form method="post" action="{action}"{on_submit} id="{FORM_ID}">'
        + begin
        + "\n    <div>\n        "
        + body
        + (f"\n        <br />\n        {status}" if status else "")
        + "\n    </div>\n    "
        + end
        + "</form>\n</body>\n</html>\n"
    )
    return page.replace("\n", "\r\n")


def alone(controls: Sequence[Control], *, title: str = "Orders", status: str = "") -> str:
    """The controls' markup in a bare post form: none of the page ASP.NET writes around it (no
    hidden fields, no inline script, no WebResource.axd), only what the controls themselves
    need: the page author's <head> markup and the code-behind's script blocks."""
    blocks = "".join(SCRIPT_START + c.script_block + SCRIPT_END
                     for c in controls if c.script_block)
    body = "\n<br />\n".join(c.markup for c in controls)
    page = (
        "<!DOCTYPE html>\n<html>\n"
        f"<head><title>{title}</title>{''.join(c.head for c in controls)}</head>\n"
        "<body>\n"
        f'<form method="post" action="{ACTION}" id="{FORM_ID}">{blocks}\n'
        + body
        + (f"\n<br />\n{status}" if status else "")
        + "\n</form>\n</body>\n</html>\n"
    )
    return page.replace("\n", "\r\n")


LAYOUTS = ("alone", "page", "page-trailing")
"""``alone``: :func:`alone`; ``page``: :func:`whole_page` as 4.5+ writes it by default (every
hidden field at the top); ``page-trailing``: the second hidden block after the controls."""


def render(layout: str, controls: Sequence[Control], *, status: str = "") -> str:
    if layout == "alone":
        return alone(controls, status=status)
    if layout in ("page", "page-trailing"):
        return whole_page(controls, status=status, hidden_fields_at_top=layout == "page")
    raise ValueError(f"unknown layout {layout!r}: one of {', '.join(LAYOUTS)}")


# --------------------------------------------------------------------------------------------
# A page with a ScriptManager: ASP.NET AJAX's UpdatePanel (issue #17)
#
# The same page frame as whole_page, for an .aspx with a ScriptManager, an UpdatePanel (a
# Label, two LinkButtons, the GridView above and a Label showing the handler that ran), two
# Buttons outside it that are the panel's AsyncPostBackTriggers, an UpdateProgress, and the
# page author's own script registering a PageRequestManager endRequest handler:
#
#   <form id="form1" runat="server">
#       <asp:ScriptManager ID="ScriptManager1" runat="server" />
#       <script type="text/javascript"> ...AJAX_PAGE_SCRIPT... </script>
#       <div>
#           <asp:UpdatePanel ID="UpdatePanel1" runat="server">
#               <ContentTemplate>
#                   <asp:Label ID="CountLabel" runat="server" />
#                   <asp:LinkButton ID="LinkButton1" runat="server" Text="Refresh totals" />
#                   <asp:LinkButton ID="GoButton" runat="server" Text="Go" />
#                   <asp:GridView ID="GridView1" ... /> (as GRIDVIEW)
#                   <asp:Label ID="EventLabel" runat="server" />
#               </ContentTemplate>
#               <Triggers>
#                   <asp:AsyncPostBackTrigger ControlID="RefreshButton" />
#                   <asp:AsyncPostBackTrigger ControlID="ErrorButton" />
#               </Triggers>
#           </asp:UpdatePanel>
#           <br />
#           <asp:TextBox ID="NoteBox" runat="server" />
#           <asp:Button ID="RefreshButton" runat="server" Text="Refresh" />
#           <asp:Button ID="ErrorButton" runat="server" Text="Fail" />
#           <br />
#           <asp:UpdateProgress ID="UpdateProgress1" runat="server">
#               <ProgressTemplate>Working…</ProgressTemplate>
#           </asp:UpdateProgress>
#           <span id="AjaxStatus"></span>
#       </div>
#   </form>
#
# rendered on a first GET, by ASP.NET 4.5+ with a new project's web.config (<compilation
# debug="true">: ScriptManager.IsDebuggingEnabled, System.Web.Extensions/ui/ScriptManager.cs:
# 551-566). "SM.cs", "PRM.cs", "UP.cs", "UPr.cs", "SCM.cs" (ScriptControlManager), "SCD.cs"
# (ScriptComponentDescriptor) below are files of System.Web.Extensions/ui/; "CSM.cs"
# (ClientScriptManager), "Page.cs", "HTW.cs" (HTMLTextWriter) of System.Web/UI/, all at
# REFERENCESOURCE.
#
# * Scripts. SM.cs:1303-1319 (OnPagePreRenderComplete, not in an async postback): first
#   GetPostBackEventReference(new PostBackOptions(this, null, null, false, false, false, false,
#   true, null)) "to force ASP.NET to include the __doPostBack function" and WebForms.js
#   (performValidation true: CSM.cs:462-465, 512-515 RegisterWebFormsScript, which registers
#   the postback script too, Page.cs:2780-2797): both before rendering, so at the top of the
#   form (Page.cs:2389-2398), before the registered blocks. Then RegisterScripts (SM.cs:
#   1663-1699): AddFrameworkScripts (SM.cs:1016-1048) inserts MicrosoftAjaxWebForms.js, then
#   MicrosoftAjax.js, at index 0 (so MicrosoftAjax.js comes first), each AlwaysLoadBeforeUI
#   (SM.cs:1010-1013), so RegisterUniqueScripts (SM.cs:1701-1734) registers each as a client
#   script include (CSM.cs:44-46, 833: a tag on a new line, its URL HtmlAttributeEncoded), and
#   right after the one that defines Sys (SM.cs:1044-1046 IsDefiningSys) the framework check
#   (SM.cs:925-932: ClientScriptStart + "if (typeof(Sys) === 'undefined') throw new Error('" +
#   AtlasWeb.ScriptManager_FrameworkFailedToLoad (Resources/AtlasWeb.resx:543-545) + "');\r\n"
#   + ClientScriptEnd, registered without added tags) when debugging is enabled (SM.cs:1702,
#   1720-1724). CSM.cs:1126-1200 writes the blocks in registration order after a new line.
#   The URLs: ScriptResourceHandler.cs (System.Web.Extensions/Handlers/) 770-777, 791-797:
#   "/ScriptResource.axd?d=" + the encrypted assembly and resource name + "&t=" + the
#   assembly's hash in hex.
# * The PageRequestManager's script, where the ScriptManager stands (SM.cs:1979-1983,
#   PRM.cs:658-662, 809-846): written directly (no ClientScriptStart: no new line before
#   <script>), "Sys.WebForms.PageRequestManager._initialize('ScriptManager1', 'form1', [", the
#   panels (PRM.cs:848-882: 't' for ChildrenAsTriggers + UniqueID, then the ClientID, which
#   Predictable (not AutoID) writes), "], [", the async postback controls (PRM.cs:163-214:
#   UniqueID, ClientID; the triggers' controls, AsyncPostBackTrigger.cs:94-97, in trigger
#   order), "], [", the postback controls (none), "], ", AsyncPostBackTimeout (90), ", '", the
#   master page's UniqueID (none, PRM.cs:252-265), "');" and a new line.
# * The UpdatePanel (UP.cs:395-427, not in an async postback): <div id="UpdatePanel1"> (Block
#   mode, UP.cs:45, 417-418), a block tag (HTW.cs:1062-1068, 1112-1125): a new line and one
#   more tab of indentation for what its children write on new lines (the GridView's), a new
#   line before </div>. A Label is a <span> with its id and Text; LinkButtons as LINKBUTTON.
# * The TextBox as VALIDATING_BUTTON's NameBox; the Buttons (UseSubmitBehavior, nothing to
#   validate) as PANEL's SearchButton.
# * The UpdateProgress (UPr.cs:145-160): <div id="UpdateProgress1" style="display:none;">
#   (DynamicLayout true by default; a block tag around the template's text); it is an
#   IScriptControl registered at PreRender and whose descriptors are registered while it
#   renders (UPr.cs:140-143, 158-160): SCM.cs:222-287 writes "Sys.Application.add_init(
#   function() {", a new line, four spaces and each descriptor's script, a new line, "});" and
#   a new line, as a startup script with tags; SCD.cs:260-289 and 194-224: "$create(" + type +
#   ", " + the properties, sorted ordinally (SCD.cs:26, 79-84), as JSON + ", null, null, " +
#   '$get("UpdateProgress1")' + ");" (UPr.cs:177-196: associatedUpdatePanelId null,
#   displayAfter 500, dynamicLayout true). The role="status" and aria-hidden="true" a browser
#   shows on that <div> are the client's (Sys.UI.Control's constructor and
#   Script/Sys/UI/Controls/UpdateProgress.js initialize), not the server's markup.
# * Startup scripts at the end of the form (Page.cs:2454-2465, CSM.cs:1158-1200).

# ScriptResource.axd's d values (Page.EncryptString of "assembly|resource|culture":
# UrlTokenEncode'd, the last digit the padding count) and t (the assembly's hash).
MICROSOFTAJAX_D = (
    "_4vk4gXVPZSasoFTJ3xmEWB5eZxbEXNlUGfJyzQpcdizkm7W6Qem9ZNj87_FEVICD2equ94a7RbWBc1VVExSukrVE"
    "nBloPethLlZTfcpZbzg-MBiR95IlR18S_dXGu6jDw0taaVZNWCSF40avVP6eccN0")
MICROSOFTAJAXWEBFORMS_D = (
    "8IKX-cxYO3N15BbJUkfaQBu-IlSS1P9LPjMoIiAFrlIQZgonsoJ0Vm54UI2H7IcUJ8wh5qe2Z2WJd6tTkGIjX_Ylk_"
    "2zG4Ap5pmWFWrTBIG_Jy6by89CxqtoNldCwDyAnlwgbfZ6nVfAh_KtHaXK2WEy0")
SCRIPT_RESOURCE_T = "ffffffffd9acc54b"
MICROSOFTAJAX_URL = f"/ScriptResource.axd?d={MICROSOFTAJAX_D}&t={SCRIPT_RESOURCE_T}"
MICROSOFTAJAXWEBFORMS_URL = f"/ScriptResource.axd?d={MICROSOFTAJAXWEBFORMS_D}&t={SCRIPT_RESOURCE_T}"
# What each ScriptResource.axd d names: Microsoft's scripts (the test app serves them from
# ../shared/aspnet-ajax/, never from this repository).
SCRIPT_RESOURCES = {MICROSOFTAJAX_D: "MicrosoftAjax.js",
                    MICROSOFTAJAXWEBFORMS_D: "MicrosoftAjaxWebForms.js"}

AJAX_ACTION = "./Ajax.aspx"
SCRIPT_MANAGER = "ScriptManager1"
UPDATE_PANEL = "UpdatePanel1"
ASYNC_TRIGGERS = ("RefreshButton", "ErrorButton")
ASYNC_POSTBACK_TIMEOUT = 90  # ScriptManager.AsyncPostBackTimeout's default, in seconds

# SM.cs:925-932, the resource text JavaScriptStringEncode'd (nothing to escape in it).
FRAMEWORK_CHECK = (SCRIPT_START + "if (typeof(Sys) === 'undefined') throw new Error("
                   "'ASP.NET Ajax client-side framework failed to load.');\n" + SCRIPT_END)


def _flat_ids(pairs: Sequence[tuple[str, str]]) -> str:
    """PRM.cs:163-214, 848-882: 'UniqueID','ClientID',... (quotes, commas, no spaces)."""
    return ",".join(f"'{unique}','{client}'" for unique, client in pairs)


# PRM.cs:809-846, verbatim but for the IDs.
PAGE_REQUEST_MANAGER_SCRIPT = (
    '<script type="text/javascript">\n'
    "//<![CDATA[\n"
    f"Sys.WebForms.PageRequestManager._initialize('{SCRIPT_MANAGER}', '{FORM_ID}', "
    f"[{_flat_ids([('t' + UPDATE_PANEL, UPDATE_PANEL)])}], "
    f"[{_flat_ids([(t, t) for t in ASYNC_TRIGGERS])}], [], {ASYNC_POSTBACK_TIMEOUT}, '');\n"
    "//]]>\n"
    "</script>\n"
)

# The page author's own script, right after the ScriptManager (where Sys.WebForms exists): the
# documented PageRequestManager client events (endRequest's args.get_error(),
# set_errorHandled(true) so that the PRM does not throw it; pageLoaded's get_panelsUpdated()),
# recorded for the tests and shown in the AjaxStatus span.
AJAX_PAGE_SCRIPT = """<script type="text/javascript">
        var prm = Sys.WebForms.PageRequestManager.getInstance();
        window.__endRequests = [];
        window.__panelsUpdated = [];
        prm.add_endRequest(function (sender, args) {
            var error = args.get_error();
            window.__endRequests.push(error ? { name: error.name, message: error.message,
                                                httpStatusCode: error.httpStatusCode } : null);
            document.getElementById("AjaxStatus").textContent =
                error ? "Error: " + error.message : "Updated";
            if (error) {
                args.set_errorHandled(true);
            }
        });
        prm.add_pageLoaded(function (sender, args) {
            var panels = args.get_panelsUpdated();
            for (var i = 0; i < panels.length; i++) {
                window.__panelsUpdated.push(panels[i].id);
            }
        });
    </script>"""


def _linkbutton(control_id: str, text: str) -> str:
    """A LinkButton (LinkButton.cs:262-311), as LINKBUTTON, with its own ID and Text."""
    return (f'<a id="{control_id}" href="javascript:__doPostBack(&#39;{control_id}&#39;,'
            f'&#39;&#39;)">{text}</a>')


def _submit_button(control_id: str, text: str) -> str:
    """A Button with UseSubmitBehavior and nothing to validate (Button.cs:252-329)."""
    return f'<input type="submit" name="{control_id}" value="{text}" id="{control_id}" />'


GO_BUTTON = _linkbutton("GoButton", "Go")
NOTE_BOX = '<input name="NoteBox" type="text" id="NoteBox" />'
REFRESH_BUTTON = _submit_button("RefreshButton", "Refresh")
ERROR_BUTTON = _submit_button("ErrorButton", "Fail")
UPDATE_PROGRESS = '<div id="UpdateProgress1" style="display:none;">\n\tWorking…\n</div>'
UPDATE_PROGRESS_STARTUP = (
    "Sys.Application.add_init(function() {\n"
    '    $create(Sys.UI._UpdateProgress, {"associatedUpdatePanelId":null,"displayAfter":500,'
    '"dynamicLayout":true}, null, null, $get("UpdateProgress1"));\n'
    "});\n"
)


def update_panel_content(count_label: str, event_label: str = "") -> str:
    """The UpdatePanel's inner HTML in the whole page (what follows ``<div id="UpdatePanel1">``
    up to its ``</div>``): the labels' texts as the code-behind set them (HTML, as a Label's
    Text is written)."""
    grid = GRIDVIEW.replace("\n", "\n\t")  # one block tag deeper: one more tab (HTW.cs)
    children = "\n                ".join((
        f'<span id="CountLabel">{count_label}</span>', LINKBUTTON, GO_BUTTON, grid,
        f'<span id="EventLabel">{event_label}</span>'))
    return "\n\t\n                " + children + "\n            \n"


def ajax_page(count_label: str, event_label: str = "", *, title: str = "Orders",
              action: str = AJAX_ACTION) -> str:
    """The whole page ASP.NET writes for the .aspx above, hidden fields at the top of the form
    (the 4.5+ default), with ``update_panel_content(count_label, event_label)`` in the panel."""
    begin = (
        '\n<div class="aspNetHidden">'
        + _hidden("__EVENTTARGET") + _hidden("__EVENTARGUMENT") + "\n"
        + f'<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="{VIEWSTATE}" />\n'
        + "</div>\n"
        + POSTBACK_SCRIPT
        + _include(WEBFORMS_URL) + "\n"
        # CSM.cs:1168-1200: a new line, then the blocks as registered (SM.cs:1701-1724).
        + "\n" + _include(MICROSOFTAJAX_URL) + FRAMEWORK_CHECK + _include(MICROSOFTAJAXWEBFORMS_URL)
        + _late_hidden_block(_hidden("__VIEWSTATEGENERATOR", VIEWSTATEGENERATOR)
                             + _hidden("__EVENTVALIDATION", EVENTVALIDATION))
    )
    body = (
        "\n    " + PAGE_REQUEST_MANAGER_SCRIPT
        + "\n    " + AJAX_PAGE_SCRIPT
        + "\n    <div>\n        "
        + f'<div id="{UPDATE_PANEL}">' + update_panel_content(count_label, event_label)
        + "</div>\n        <br />\n        "
        + "\n        ".join((NOTE_BOX, REFRESH_BUTTON, ERROR_BUTTON)) + "\n        <br />\n        "
        + UPDATE_PROGRESS + "\n        "
        + '<span id="AjaxStatus"></span>'
        + "\n    </div>\n    "
    )
    end = "\n" + SCRIPT_START + UPDATE_PROGRESS_STARTUP + SCRIPT_END
    page = (
        "\n\n<!DOCTYPE html>\n\n"
        '<html xmlns="http://www.w3.org/1999/xhtml">\n'
        f"<head><title>\n\t{title}\n</title></head>\n"
        "<body>\n"
        f'    <form method="post" action="{action}" id="{FORM_ID}">'
        + begin + body + end
        + "</form>\n</body>\n</html>\n"
    )
    return page.replace("\n", "\r\n")

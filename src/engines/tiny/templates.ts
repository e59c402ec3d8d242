/**
 * Chat templates of the tiny test models, written for glmv (not copies of the upstream templates). They follow
 * the prompt layouts of GLM-V-spec.md §3.2 (GLM-4.1V) and §3.3 (GLM-4.5V/4.6V family) so the runtime renders the
 * same prompt shapes the real models get.
 */

/** GLM-4.5V/4.6V-family layout: tools section, reasoning in history, tool calls, observations, /nothink. */
export const TINY_TEMPLATE_46V = `[gMASK]<sop>
{%- if tools -%}
<|system|>
# Tools

You may call one or more functions to help with the user's request.
Function signatures are listed inside <tools></tools>:
<tools>
{% for tool in tools %}{{ tool | tojson }}
{% endfor %}</tools>

For each call, write the function name and its arguments as XML:
<tool_call>{function-name}
<arg_key>{arg-key-1}</arg_key>
<arg_value>{arg-value-1}</arg_value>
</tool_call>
{%- endif -%}
{%- set ns = namespace(last_user=-1) -%}
{%- for m in messages -%}{%- if m.role == 'user' -%}{%- set ns.last_user = loop.index0 -%}{%- endif -%}{%- endfor -%}
{%- macro render_parts(content) -%}
{%- if content is string -%}{{ content }}
{%- elif content -%}
{%- for part in content -%}
{%- if part.type == 'text' -%}{{ part.text }}
{%- elif part.type == 'image' -%}<|begin_of_image|><|image|><|end_of_image|>
{%- elif part.type == 'video' -%}<|begin_of_video|><|video|><|end_of_video|>
{%- endif -%}
{%- endfor -%}
{%- endif -%}
{%- endmacro -%}
{%- macro plain_text(content) -%}
{%- if content is string -%}{{ content }}
{%- elif content -%}{%- for part in content -%}{%- if part.type == 'text' -%}{{ part.text }}{%- endif -%}{%- endfor -%}
{%- endif -%}
{%- endmacro -%}
{%- for m in messages -%}
{%- if m.role == 'system' -%}
<|system|>
{{ render_parts(m.content) }}
{%- elif m.role == 'user' -%}
<|user|>
{{ render_parts(m.content) }}
{%- if enable_thinking is defined and not enable_thinking and not plain_text(m.content).endswith('/nothink') -%}/nothink{%- endif -%}
{%- elif m.role == 'assistant' -%}
{%- set text = plain_text(m.content) -%}
{%- set reasoning = '' -%}
{%- if m.reasoning_content is string -%}
{%- set reasoning = m.reasoning_content -%}
{%- elif '</think>' in text -%}
{%- set reasoning = text.split('</think>')[0].split('<think>')[-1].strip('\\n') -%}
{%- set text = text.split('</think>')[-1].lstrip('\\n') -%}
{%- endif -%}
<|assistant|>
{%- if loop.index0 > ns.last_user and reasoning.strip() -%}
{{ '\\n<think>' + reasoning.strip() + '</think>' }}
{%- else -%}
{{ '\\n<think></think>' }}
{%- endif -%}
{%- if text.strip() -%}
{{ '\\n' + text.strip() }}
{%- endif -%}
{%- if m.tool_calls -%}
{%- for call in m.tool_calls -%}
{%- set fn = call.function if call.function else call -%}
{{ '\\n<tool_call>' + fn.name + '\\n' }}
{%- for key, value in fn.arguments | items -%}
{{ '<arg_key>' + key + '</arg_key>\\n<arg_value>' }}
{%- if value is string -%}{{ value }}{%- else -%}{{ value | tojson }}{%- endif -%}
{{ '</arg_value>\\n' }}
{%- endfor -%}
</tool_call>
{%- endfor -%}
{%- endif -%}
{%- elif m.role == 'tool' -%}
{%- if loop.first or messages[loop.index0 - 1].role != 'tool' -%}<|observation|>{%- endif -%}
{{ '\\n<tool_response>\\n' }}
{%- if m.content is string -%}
{{ m.content + '\\n</tool_response>\\n' }}
{%- else -%}
{%- for part in m.content -%}
{%- if part.type == 'text' -%}{{ part.text }}
{%- elif part.type == 'image' or part.type == 'image_url' -%}<|begin_of_image|><|image|><|end_of_image|>
{%- elif part.type == 'video' or part.type == 'video_url' -%}<|begin_of_video|><|video|><|end_of_video|>
{%- else -%}{{ part | tojson }}
{%- endif -%}
{%- endfor -%}
{{ '\\n</tool_response>' }}
{%- endif -%}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
<|assistant|>
{% if enable_thinking is defined and not enable_thinking -%}
<think></think>
{% endif -%}
{%- endif -%}`;

/** GLM-4.1V-Thinking layout: no tools, assistant content verbatim, always thinking. */
export const TINY_TEMPLATE_41V = `[gMASK]<sop>
{%- for m in messages -%}
{%- if m.role == 'system' -%}
<|system|>
{{ m.content }}
{%- elif m.role == 'user' -%}
<|user|>
{% if m.content is string -%}
{{ m.content }}
{%- else -%}
{%- for part in m.content -%}
{%- if part.type == 'text' -%}{{ part.text }}
{%- elif part.type == 'image' -%}<|begin_of_image|><|image|><|end_of_image|>
{%- elif part.type == 'video' -%}<|begin_of_video|><|video|><|end_of_video|>
{%- endif -%}
{%- endfor -%}
{%- endif -%}
{%- elif m.role == 'assistant' -%}
<|assistant|>{{ m.metadata if m.metadata else '' }}
{{ m.content }}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
<|assistant|>
{% endif -%}`;

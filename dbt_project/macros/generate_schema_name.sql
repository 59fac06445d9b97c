{#- Schemas are the layer names themselves (staging, intermediate, marts, audit), not
    <target>_<layer>: BI tools and the contract name `marts.metric_values`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
